//! Checks on decoded client messages that the type system cannot express:
//! text, token and map name lengths, map name characters and finite numbers.
//!
//! Decoding only proves that bytes form *a* `ClientMessage`; [`ClientMessage::validate`]
//! proves it is one the server may act on. The gateway and the simulation
//! call it before using a message, and answer a failure with
//! [`crate::ServerMessage::Error`] carrying [`ValidationError::code`].
//! What it leaves out: anything that needs server state (is the version
//! supported, is the token known, is the player allowed to move there).

use crate::ids::{ErrorCode, Position, Vec2};
use crate::messages::{ClientMessage, MAX_MAP_NAME_LEN, MAX_TEXT_LEN, MAX_TOKEN_LEN, MoveIntent};

/// Why a decoded client message may not be acted on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValidationError {
    /// A shout or broadcast text is longer than [`MAX_TEXT_LEN`] bytes.
    #[error("text of {0} bytes exceeds the limit of {MAX_TEXT_LEN}")]
    TextTooLong(usize),
    /// A session token is longer than [`MAX_TOKEN_LEN`] bytes.
    #[error("token of {0} bytes exceeds the limit of {MAX_TOKEN_LEN}")]
    TokenTooLong(usize),
    /// A number of a movement intent is NaN or infinite; names the field.
    #[error("{0} is not a finite number")]
    NotFinite(&'static str),
    /// A movement intent asks for a negative speed.
    #[error("speed is negative")]
    NegativeSpeed,
    /// A map name is empty.
    #[error("map name is empty")]
    EmptyMapName,
    /// A map name is longer than [`MAX_MAP_NAME_LEN`] bytes.
    #[error("map name of {0} bytes exceeds the limit of {MAX_MAP_NAME_LEN}")]
    MapNameTooLong(usize),
    /// A map name holds a control character (a newline, a NUL, ...).
    #[error("map name contains a control character")]
    MapNameControlChar,
}

impl ValidationError {
    /// The stable code to send in [`crate::ServerMessage::Error`].
    pub fn code(&self) -> ErrorCode {
        match self {
            ValidationError::TextTooLong(_) | ValidationError::MapNameTooLong(_) => {
                ErrorCode::TEXT_TOO_LONG
            }
            ValidationError::TokenTooLong(_) => ErrorCode::INVALID_TOKEN,
            ValidationError::NotFinite(_)
            | ValidationError::NegativeSpeed
            | ValidationError::EmptyMapName
            | ValidationError::MapNameControlChar => ErrorCode::INVALID_VALUE,
        }
    }
}

impl From<ValidationError> for ErrorCode {
    fn from(error: ValidationError) -> Self {
        error.code()
    }
}

impl ClientMessage {
    /// Checks the limits of every field; `Ok` means the message may be acted on.
    pub fn validate(&self) -> Result<(), ValidationError> {
        match self {
            ClientMessage::Hello { token, .. } | ClientMessage::Resume { token, .. }
                if token.len() > MAX_TOKEN_LEN =>
            {
                Err(ValidationError::TokenTooLong(token.len()))
            }
            ClientMessage::Shout { text } | ClientMessage::Broadcast { text } => {
                validate_text(text)
            }
            ClientMessage::Move(intent) => intent.validate(),
            ClientMessage::ChangeMap { map } => validate_map_name(map),
            ClientMessage::Hello { .. }
            | ClientMessage::Resume { .. }
            | ClientMessage::Ping { .. } => Ok(()),
        }
    }
}

impl MoveIntent {
    /// Checks that every number is finite and the speed is not negative.
    pub fn validate(&self) -> Result<(), ValidationError> {
        let MoveIntent {
            seq: _,
            direction: Vec2 { x: dx, y: dy },
            speed,
            predicted: Position { x: px, y: py },
        } = *self;
        for (name, value) in [
            ("direction.x", dx),
            ("direction.y", dy),
            ("speed", speed),
            ("predicted.x", px),
            ("predicted.y", py),
        ] {
            if !value.is_finite() {
                return Err(ValidationError::NotFinite(name));
            }
        }
        if speed < 0.0 {
            return Err(ValidationError::NegativeSpeed);
        }
        Ok(())
    }
}

/// Checks a shout or broadcast text against [`MAX_TEXT_LEN`] (bytes of UTF-8).
pub fn validate_text(text: &str) -> Result<(), ValidationError> {
    if text.len() > MAX_TEXT_LEN {
        return Err(ValidationError::TextTooLong(text.len()));
    }
    Ok(())
}

/// Checks a map name: 1 to [`MAX_MAP_NAME_LEN`] bytes of UTF-8 and no
/// control characters, so that it can be logged and shown as one line.
pub fn validate_map_name(name: &str) -> Result<(), ValidationError> {
    if name.is_empty() {
        return Err(ValidationError::EmptyMapName);
    }
    if name.len() > MAX_MAP_NAME_LEN {
        return Err(ValidationError::MapNameTooLong(name.len()));
    }
    if name.chars().any(char::is_control) {
        return Err(ValidationError::MapNameControlChar);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::{Position, Vec2};

    fn intent() -> MoveIntent {
        MoveIntent {
            seq: 1,
            direction: Vec2 { x: 1.0, y: 0.0 },
            speed: 40.0,
            predicted: Position::new(10.0, 20.0),
        }
    }

    /// Texts and tokens are accepted up to their limit and refused one byte over.
    #[test]
    fn lengths_are_checked_at_the_limit() {
        let at = |n| "a".repeat(n);
        assert_eq!(
            ClientMessage::Shout {
                text: at(MAX_TEXT_LEN)
            }
            .validate(),
            Ok(())
        );
        assert_eq!(
            ClientMessage::Broadcast {
                text: at(MAX_TEXT_LEN + 1)
            }
            .validate(),
            Err(ValidationError::TextTooLong(MAX_TEXT_LEN + 1))
        );
        let hello = |n| ClientMessage::Hello {
            version: 1,
            token: at(n),
        };
        assert_eq!(hello(MAX_TOKEN_LEN).validate(), Ok(()));
        let err = hello(MAX_TOKEN_LEN + 1).validate().unwrap_err();
        assert_eq!(err.code(), ErrorCode::INVALID_TOKEN);
    }

    /// The limit counts bytes, not characters: 171 three-byte characters are over 512.
    #[test]
    fn text_limit_counts_utf8_bytes() {
        let text = "€".repeat(171);
        assert_eq!(validate_text(&text), Err(ValidationError::TextTooLong(513)));
    }

    /// Every float of an intent is checked, and each failure names its field.
    #[test]
    fn non_finite_intents_are_refused() {
        assert_eq!(ClientMessage::Move(intent()).validate(), Ok(()));
        type Spoil = fn(&mut MoveIntent);
        let cases: [(Spoil, &str); 5] = [
            (|i| i.direction.x = f32::NAN, "direction.x"),
            (|i| i.direction.y = f32::INFINITY, "direction.y"),
            (|i| i.speed = f32::NEG_INFINITY, "speed"),
            (|i| i.predicted.x = f32::NAN, "predicted.x"),
            (|i| i.predicted.y = -f32::INFINITY, "predicted.y"),
        ];
        for (spoil, field) in cases {
            let mut bad = intent();
            spoil(&mut bad);
            let err = ClientMessage::Move(bad).validate().unwrap_err();
            assert_eq!(err, ValidationError::NotFinite(field));
            assert_eq!(ErrorCode::from(err), ErrorCode::INVALID_VALUE);
        }
    }

    /// A negative speed is refused; zero (standing still) is fine.
    #[test]
    fn speed_must_not_be_negative() {
        let mut i = intent();
        i.speed = 0.0;
        assert_eq!(i.validate(), Ok(()));
        i.speed = -1.0;
        assert_eq!(i.validate(), Err(ValidationError::NegativeSpeed));
    }

    /// Map names must be non-empty, at most 255 bytes and free of control
    /// characters; each failure has its own error and code.
    #[test]
    fn map_names_are_checked() {
        let change = |map: &str| ClientMessage::ChangeMap { map: map.into() };
        assert_eq!(change("meadow").validate(), Ok(()));
        assert_eq!(change(&"m".repeat(MAX_MAP_NAME_LEN)).validate(), Ok(()));
        assert_eq!(change("é").validate(), Ok(()));
        assert_eq!(change("").validate(), Err(ValidationError::EmptyMapName));
        let long = change(&"m".repeat(MAX_MAP_NAME_LEN + 1))
            .validate()
            .unwrap_err();
        assert_eq!(long, ValidationError::MapNameTooLong(MAX_MAP_NAME_LEN + 1));
        assert_eq!(long.code(), ErrorCode::TEXT_TOO_LONG);
        for bad in ["a\nb", "\0", "tab\there", "del\u{7f}", "c1\u{85}"] {
            let err = change(bad).validate().unwrap_err();
            assert_eq!(err, ValidationError::MapNameControlChar, "{bad:?}");
            assert_eq!(err.code(), ErrorCode::INVALID_VALUE);
        }
        assert_eq!(
            ValidationError::EmptyMapName.code(),
            ErrorCode::INVALID_VALUE
        );
    }
}
