//! Session tokens: 256 bits from the OS RNG, base64url without padding
//! (43 characters). The server keeps only the SHA-256 of the token string,
//! so a leaked store or table does not leak usable tokens.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

use crate::store::TokenHash;

/// Length of a token string in characters.
pub const TOKEN_LEN: usize = 43;

/// Makes a new token from the OS random number generator.
pub fn generate() -> Result<String, getrandom::Error> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}

/// SHA-256 of the token's bytes: the key in the table and the store.
pub fn hash(token: &str) -> TokenHash {
    Sha256::digest(token.as_bytes()).into()
}

/// Whether `token` has the shape of one of ours (cheap pre-check before
/// hashing untrusted input).
pub fn well_formed(token: &str) -> bool {
    token.len() == TOKEN_LEN
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Tokens are 43 url-safe characters, distinct, and hash deterministically.
    #[test]
    fn tokens_are_well_formed_and_distinct() {
        let a = generate().unwrap();
        let b = generate().unwrap();
        assert!(well_formed(&a) && well_formed(&b));
        assert_ne!(a, b);
        assert_eq!(hash(&a), hash(&a));
        assert_ne!(hash(&a), hash(&b));
        assert!(!well_formed("short"));
        assert!(!well_formed(&"+".repeat(TOKEN_LEN)));
    }
}
