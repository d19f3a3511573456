//! Rules for account names and passwords.
//!
//! Names: 3 to 20 characters, ASCII letters, digits, `_` and `-`, starting
//! with a letter; unique ignoring case (the lowercased name is the key) and
//! displayed as typed. ASCII only, so that no two names look alike through
//! Unicode confusables and lowercasing is unambiguous. Passwords: at least 8
//! characters and at most 128 bytes (the bound keeps hashing cost fixed).
//! Nothing here touches the store.

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

/// Checks a new password against the length rules.
pub fn check_password(password: &str) -> Result<(), ApiError> {
    if password.chars().count() < PASSWORD_MIN_CHARS || password.len() > PASSWORD_MAX_BYTES {
        return Err(ApiError::bad_request(
            "invalid_password",
            format!(
                "password must be at least {PASSWORD_MIN_CHARS} characters and at most \
                 {PASSWORD_MAX_BYTES} bytes"
            ),
        ));
    }
    Ok(())
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

    /// Passwords need 8 characters and fit in 128 bytes.
    #[test]
    fn password_lengths() {
        assert!(check_password("12345678").is_ok());
        assert!(check_password("éééééééé").is_ok());
        assert_eq!(
            check_password("1234567").unwrap_err().code(),
            "invalid_password"
        );
        assert!(check_password(&"a".repeat(128)).is_ok());
        assert!(check_password(&"a".repeat(129)).is_err());
    }
}
