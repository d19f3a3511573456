//! Rules for account names and passwords.
//!
//! Names: 3 to 20 characters, ASCII letters, digits, `_` and `-`, starting
//! with a letter; unique ignoring case (the lowercased name is the key) and
//! displayed as typed. ASCII only, so that no two names look alike through
//! Unicode confusables and lowercasing is unambiguous. Passwords: at least 8
//! characters and at most 128 bytes (the bound keeps hashing cost fixed),
//! not containing the account name, and rated at least
//! [`PASSWORD_MIN_SCORE`] of 4 by zxcvbn (a password-cracker's estimate:
//! common passwords, words, names, dates, keyboard rows, sequences and
//! leetspeak count for little). The strength check applies to new
//! passwords only; accounts made before it keep logging in. Nothing here
//! touches the store.

use super::error::ApiError;

/// Shortest allowed name, in characters.
pub const NAME_MIN: usize = 3;
/// Longest allowed name, in characters.
pub const NAME_MAX: usize = 20;
/// Shortest allowed password, in characters.
pub const PASSWORD_MIN_CHARS: usize = 8;
/// Longest allowed password, in bytes of UTF-8.
pub const PASSWORD_MAX_BYTES: usize = 128;

/// Checks a name and returns its uniqueness key (lowercase).
pub fn name_key(name: &str) -> Result<String, ApiError> {
    let valid_chars = name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    let starts_with_letter = name.bytes().next().is_some_and(|b| b.is_ascii_alphabetic());
    if !(NAME_MIN..=NAME_MAX).contains(&name.len()) || !valid_chars || !starts_with_letter {
        return Err(ApiError::bad_request(
            "invalid_name",
            format!(
                "name must be {NAME_MIN}-{NAME_MAX} characters: ASCII letters, digits, _ or -, \
                 starting with a letter"
            ),
        ));
    }
    Ok(name.to_ascii_lowercase())
}

/// The lowest zxcvbn score (0 to 4) a new password needs: 3 means "more
/// than 10^8 guesses", safely unguessable online and costly offline against
/// Argon2id.
pub const PASSWORD_MIN_SCORE: u8 = 3;

/// Checks a new password for the account `name` against the length rules,
/// then its strength: `invalid_password` for the length, `weak_password`
/// (saying why and what helps) for a guessable one.
pub fn check_password(password: &str, name: &str) -> Result<(), ApiError> {
    if password.chars().count() < PASSWORD_MIN_CHARS || password.len() > PASSWORD_MAX_BYTES {
        return Err(ApiError::bad_request(
            "invalid_password",
            format!(
                "password must be at least {PASSWORD_MIN_CHARS} characters and at most \
                 {PASSWORD_MAX_BYTES} bytes"
            ),
        ));
    }
    if password.to_lowercase().contains(&name.to_lowercase()) {
        return Err(ApiError::bad_request(
            "weak_password",
            "the password contains the account name, the first thing a guesser tries; \
             choose one without it, for example a few uncommon words",
        ));
    }
    let estimate = zxcvbn::zxcvbn(password, &[name, "battlegrid"]);
    let score = u8::from(estimate.score());
    if score >= PASSWORD_MIN_SCORE {
        return Ok(());
    }
    let mut message = format!(
        "the password is too easy to guess (strength {score} of 4, {PASSWORD_MIN_SCORE} needed)."
    );
    if let Some(feedback) = estimate.feedback() {
        if let Some(warning) = feedback.warning() {
            message.push_str(&format!(" {warning}"));
        }
        for suggestion in feedback.suggestions() {
            message.push_str(&format!(" {suggestion}"));
        }
    }
    message.push_str(
        " A few uncommon words together make a strong password that is easy to remember.",
    );
    Err(ApiError::bad_request("weak_password", message))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Valid names map to their lowercase key.
    #[test]
    fn valid_names() {
        assert_eq!(name_key("Bob").unwrap(), "bob");
        assert_eq!(name_key("a_1-B").unwrap(), "a_1-b");
        assert_eq!(
            name_key("x2345678901234567890").unwrap(),
            "x2345678901234567890"
        );
    }

    /// Length, first character and character set are enforced.
    #[test]
    fn invalid_names() {
        for bad in [
            "",
            "ab",
            "x23456789012345678901",
            "1abc",
            "_abc",
            "ab c",
            "abé",
            "ab.c",
        ] {
            let err = name_key(bad).unwrap_err();
            assert_eq!(err.code(), "invalid_name", "{bad:?}");
        }
    }

    /// The length rule's answer for `password`: `false` when refused for
    /// its length (a length-valid password may still be weak).
    fn length_ok(password: &str) -> bool {
        check_password(password, "ada")
            .err()
            .is_none_or(|err| err.code() != "invalid_password")
    }

    /// Passwords need 8 characters and fit in 128 bytes; the length is
    /// checked before the strength.
    #[test]
    fn password_lengths() {
        assert!(length_ok("Zq8#vR2m"));
        assert!(length_ok("éüßøçñåþ"));
        assert!(!length_ok("Zq8#vR2"));
        assert!(!length_ok("1234567"));
        let long = "river marble ".repeat(10);
        assert!(length_ok(&long[..128]));
        assert!(check_password(&long[..128], "ada").is_ok());
        assert!(!length_ok(&long[..129]));
    }

    fn score(password: &str) -> u8 {
        u8::from(zxcvbn::zxcvbn(password, &["ada", "battlegrid"]).score())
    }

    /// The boundary: the hardest refused examples score 2, the easiest
    /// accepted ones 3, so these cases test the threshold itself.
    #[test]
    fn strength_boundary() {
        for (password, expected) in [("password1", 0), (WEAK_2, 2), (STRONG_3, 3)] {
            assert_eq!(score(password), expected, "{password}");
        }
        let weak = check_password(WEAK_2, "ada").unwrap_err();
        assert_eq!(weak.code(), "weak_password");
        assert!(check_password(STRONG_3, "ada").is_ok());
        assert_eq!(
            check_password("password1", "ada").unwrap_err().code(),
            "weak_password"
        );
    }

    /// A password scoring 2 (refused).
    const WEAK_2: &str = "marble42x";
    /// A password scoring 3 (accepted).
    const STRONG_3: &str = "snowy river";

    /// The account name in any letter case inside the password is refused,
    /// however strong the rest; the message says so.
    #[test]
    fn name_inside_password() {
        let err = check_password("xq7 Ada-rides-purple-llamas", "ada").unwrap_err();
        assert_eq!(err.code(), "weak_password");
        assert!(err.message().contains("account name"), "{}", err.message());
        assert!(check_password("xq7 rides-purple-llamas", "ada").is_ok());
    }

    /// The message of a weak password says why and what helps.
    #[test]
    fn weak_message_explains() {
        let err = check_password("password1", "ada").unwrap_err();
        let message = err.message();
        assert!(message.contains("strength 0 of 4, 3 needed"), "{message}");
        assert!(message.contains("common password"), "{message}");
        assert!(message.contains("uncommon words"), "{message}");
    }
}
