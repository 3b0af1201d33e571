//! GetRandomPassword (PASS rules), from a CSPRNG.

use rand::RngExt;
use zeroize::Zeroizing;

use crate::error::{Error, Result};
use crate::field::Field;
use crate::model::SecretValue;
use crate::store::{GetRandomPasswordInput, Session};

const LOWER: &str = "abcdefghijklmnopqrstuvwxyz";
const UPPER: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
const DIGITS: &str = "0123456789";
const PUNCTUATION: &str = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~";

/// Generates a password as `input` asks. The result is a text [`SecretValue`]: wiped on drop, redacted in `Debug`.
pub fn get_random_password(input: &GetRandomPasswordInput) -> Result<SecretValue> {
    let length = input.password_length.unwrap_or(32);
    if let Some(e) = Error::out_of_range(length, Field::PasswordLength, 1, 4096) {
        return Err(e);
    }
    let length = usize::try_from(length).unwrap_or(32);
    let exclude = input.exclude_characters.as_deref().unwrap_or_default();
    if exclude.chars().count() > 4096 {
        return Err(Error::max_len("***", Field::ExcludeCharacters, 4096));
    }
    let mut classes: Vec<Vec<char>> = Vec::new();
    for (skip, set) in [
        (input.exclude_lowercase, LOWER),
        (input.exclude_uppercase, UPPER),
        (input.exclude_numbers, DIGITS),
        (input.exclude_punctuation, PUNCTUATION),
    ] {
        if skip {
            continue;
        }
        let chars: Vec<char> = set.chars().filter(|c| !exclude.contains(*c)).collect();
        if !chars.is_empty() {
            classes.push(chars);
        }
    }
    // The space is allowed, never required: `RequireEachIncludedType` asks for one lower- and
    // one upper-case letter, one digit and one punctuation character (PASS-3).
    let mut all: Vec<char> = classes.iter().flatten().copied().collect();
    if input.include_space && !exclude.contains(' ') {
        all.push(' ');
    }
    if all.is_empty() {
        return Err(Error::invalid_parameter(
            "Password length is too short based on the required types.",
        ));
    }
    if input.require_each_included_type && length < classes.len() {
        return Err(Error::invalid_parameter(
            "Password length is too short based on the required types.",
        ));
    }
    let mut rng = rand::rng();
    let mut pick = |set: &[char]| {
        set.get(rng.random_range(0..set.len()))
            .copied()
            .unwrap_or('x')
    };
    let mut chars: Zeroizing<Vec<char>> = Zeroizing::new(Vec::with_capacity(length));
    if input.require_each_included_type {
        for class in &classes {
            chars.push(pick(class));
        }
    }
    while chars.len() < length {
        chars.push(pick(&all));
    }
    // Shuffle so the required characters are not always first (Fisher-Yates).
    let mut rng = rand::rng();
    for i in (1..chars.len()).rev() {
        let j = rng.random_range(0..=i);
        chars.swap(i, j);
    }
    let password: String = chars.iter().collect();
    SecretValue::string(password)
}

impl Session {
    /// Generates a random password (PASS rules). No secret is read or written.
    pub fn get_random_password(&self, input: &GetRandomPasswordInput) -> Result<SecretValue> {
        self.audited("GetRandomPassword", None, move || {
            get_random_password(input)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    fn classes(p: &str) -> [bool; 5] {
        [
            p.chars().any(|c| c.is_ascii_lowercase()),
            p.chars().any(|c| c.is_ascii_uppercase()),
            p.chars().any(|c| c.is_ascii_digit()),
            p.chars().any(|c| PUNCTUATION.contains(c)),
            p.contains(' '),
        ]
    }

    #[test]
    fn the_space_is_allowed_but_never_required() {
        // PASS-3: four characters are enough for the four required classes, space or not.
        let input = GetRandomPasswordInput {
            password_length: Some(4),
            include_space: true,
            ..Default::default()
        };
        let mut spaces = 0;
        for _ in 0..200 {
            let p = get_random_password(&input).unwrap();
            let p = p.expose_str().unwrap();
            assert_eq!(p.chars().count(), 4);
            assert_eq!(classes(p)[..4], [true, true, true, true]);
            spaces += usize::from(p.contains(' '));
        }
        assert_eq!(spaces, 0, "all four places go to the required classes");
        let long = GetRandomPasswordInput {
            password_length: Some(4096),
            include_space: true,
            ..Default::default()
        };
        assert!(
            get_random_password(&long)
                .unwrap()
                .expose_str()
                .unwrap()
                .contains(' ')
        );
    }

    #[test]
    fn default_is_32_chars_with_every_class_and_no_space() {
        for _ in 0..200 {
            let p = get_random_password(&GetRandomPasswordInput::default()).unwrap();
            let p = p.expose_str().unwrap();
            assert_eq!(p.chars().count(), 32);
            assert_eq!(classes(p), [true, true, true, true, false]);
        }
    }

    #[test]
    fn exclusions_are_honoured() {
        let input = GetRandomPasswordInput {
            password_length: Some(64),
            exclude_characters: Some("abcdef0123".into()),
            exclude_punctuation: true,
            include_space: true,
            ..Default::default()
        };
        let mut spaces = 0;
        for _ in 0..100 {
            let p = get_random_password(&input).unwrap();
            let p = p.expose_str().unwrap();
            assert!(
                !p.chars()
                    .any(|c| "abcdef0123".contains(c) || PUNCTUATION.contains(c))
            );
            assert_eq!(classes(p)[..4], [true, true, true, false]);
            spaces += usize::from(p.contains(' '));
        }
        // Allowed, not required: 100 passwords of 64 characters from 53 include some.
        assert!(spaces > 0);
    }

    #[test]
    fn impossible_requests_fail_cleanly() {
        let too_short = GetRandomPasswordInput {
            password_length: Some(3),
            ..Default::default()
        };
        assert_eq!(
            get_random_password(&too_short).unwrap_err().kind(),
            ErrorKind::InvalidParameter
        );
        let nothing = GetRandomPasswordInput {
            exclude_lowercase: true,
            exclude_uppercase: true,
            exclude_numbers: true,
            exclude_punctuation: true,
            ..Default::default()
        };
        assert_eq!(
            get_random_password(&nothing).unwrap_err().kind(),
            ErrorKind::InvalidParameter
        );
        for bad in [0, 4097, -1] {
            let i = GetRandomPasswordInput {
                password_length: Some(bad),
                ..Default::default()
            };
            assert_eq!(
                get_random_password(&i).unwrap_err().kind(),
                ErrorKind::Validation
            );
        }
        let one = GetRandomPasswordInput {
            password_length: Some(1),
            require_each_included_type: false,
            ..Default::default()
        };
        assert_eq!(get_random_password(&one).unwrap().len(), 1);
        let max = GetRandomPasswordInput {
            password_length: Some(4096),
            ..Default::default()
        };
        assert_eq!(get_random_password(&max).unwrap().len(), 4096);
    }
}
