//! GetRandomPassword (PASS rules), through a session and through the free function.
#![allow(
    clippy::unwrap_used,
    reason = "allow-unwrap-in-tests covers #[test] bodies only, not the helpers of a test crate"
)]
mod common;

use std::collections::BTreeSet;

use common::*;
use strongroom::{ErrorKind, GetRandomPasswordInput, SecretValue};

const LOWER: &str = "abcdefghijklmnopqrstuvwxyz";
const UPPER: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
const DIGITS: &str = "0123456789";
const PUNCTUATION: &str = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~";
const TOO_SHORT: &str = "Password length is too short based on the required types.";

/// Both ways to ask: the session method and the free function.
fn generate(input: &GetRandomPasswordInput) -> [strongroom::Result<SecretValue>; 2] {
    let t = TestStore::new();
    [
        t.s().get_random_password(input),
        strongroom::get_random_password(input),
    ]
}

/// `n` passwords from each of the two entry points.
fn many(input: &GetRandomPasswordInput, n: usize) -> Vec<String> {
    let t = TestStore::new();
    let s = t.s();
    let mut out = Vec::with_capacity(2 * n);
    for _ in 0..n {
        for p in [
            s.get_random_password(input).unwrap(),
            strongroom::get_random_password(input).unwrap(),
        ] {
            assert!(!p.is_binary());
            out.push(p.expose_str().unwrap().to_owned());
        }
    }
    out
}

fn has_any(p: &str, class: &str) -> bool {
    p.chars().any(|c| class.contains(c))
}

fn assert_err<T: std::fmt::Debug>(r: strongroom::Result<T>, kind: ErrorKind, message: &str) {
    let e = r.unwrap_err();
    assert_eq!(e.kind(), kind, "{e}");
    assert_eq!(e.to_string(), message);
}

fn with_length(n: i64) -> GetRandomPasswordInput {
    let mut i = GetRandomPasswordInput::default();
    i.password_length = Some(n);
    i
}

#[test]
fn defaults_are_32_characters_of_every_class_without_space() {
    let input = GetRandomPasswordInput::default();
    assert_eq!(input.password_length, None);
    assert!(input.require_each_included_type);
    assert!(!input.include_space);
    let all: String = [LOWER, UPPER, DIGITS, PUNCTUATION].concat();
    for p in many(&input, 100) {
        assert_eq!(p.chars().count(), 32);
        assert!(p.chars().all(|c| all.contains(c)), "{p}");
        for class in [LOWER, UPPER, DIGITS, PUNCTUATION] {
            assert!(has_any(&p, class), "{p} lacks one of {class}");
        }
    }
}

#[test]
fn every_one_of_the_94_characters_is_used() {
    let mut seen = BTreeSet::new();
    for p in many(&with_length(256), 50) {
        seen.extend(p.chars());
    }
    let expected: BTreeSet<char> = [LOWER, UPPER, DIGITS, PUNCTUATION]
        .concat()
        .chars()
        .collect();
    assert_eq!(expected.len(), 94);
    assert_eq!(seen, expected);
}

#[test]
fn passwords_differ() {
    let ps = many(&GetRandomPasswordInput::default(), 50);
    let unique: BTreeSet<&String> = ps.iter().collect();
    assert_eq!(unique.len(), ps.len());
}

#[test]
fn each_exclusion_flag_drops_its_class_only() {
    type Flag = fn(&mut GetRandomPasswordInput);
    let cases: [(Flag, &str); 4] = [
        (|i| i.exclude_lowercase = true, LOWER),
        (|i| i.exclude_uppercase = true, UPPER),
        (|i| i.exclude_numbers = true, DIGITS),
        (|i| i.exclude_punctuation = true, PUNCTUATION),
    ];
    for (set_flag, excluded) in cases {
        let mut input = with_length(40);
        set_flag(&mut input);
        for p in many(&input, 50) {
            assert_eq!(p.chars().count(), 40);
            assert!(!has_any(&p, excluded), "{p} has one of {excluded}");
            for class in [LOWER, UPPER, DIGITS, PUNCTUATION] {
                if class != excluded {
                    assert!(has_any(&p, class), "{p} lacks one of {class}");
                }
            }
            assert!(!p.contains(' '));
        }
    }
    // Only digits left.
    let mut digits_only = with_length(20);
    digits_only.exclude_lowercase = true;
    digits_only.exclude_uppercase = true;
    digits_only.exclude_punctuation = true;
    for p in many(&digits_only, 20) {
        assert!(p.chars().all(|c| c.is_ascii_digit()), "{p}");
    }
}

#[test]
fn excluded_characters_never_appear() {
    let mut input = with_length(128);
    let excluded = "aeiouAEIOU01!\"'\\`";
    input.exclude_characters = Some(excluded.to_owned());
    let mut seen = BTreeSet::new();
    for p in many(&input, 30) {
        assert!(!has_any(&p, excluded), "{p}");
        for class in [LOWER, UPPER, DIGITS, PUNCTUATION] {
            assert!(has_any(&p, class), "{p} lacks one of {class}");
        }
        seen.extend(p.chars());
    }
    // Everything else is still used.
    let expected: BTreeSet<char> = [LOWER, UPPER, DIGITS, PUNCTUATION]
        .concat()
        .chars()
        .filter(|c| !excluded.contains(*c))
        .collect();
    assert_eq!(seen, expected);
    // Excluding a whole class by characters leaves that class out.
    let mut no_digits = with_length(64);
    no_digits.exclude_characters = Some(DIGITS.to_owned());
    for p in many(&no_digits, 20) {
        assert!(!has_any(&p, DIGITS), "{p}");
    }
    // At most 4096 characters may be excluded.
    let mut long = GetRandomPasswordInput::default();
    long.exclude_characters = Some("#".repeat(4096));
    assert!(generate(&long).iter().all(Result::is_ok));
    long.exclude_characters = Some("#".repeat(4097));
    for r in generate(&long) {
        assert_eq!(kind(r), ErrorKind::Validation);
    }
}

#[test]
fn include_space_allows_the_space_without_requiring_it() {
    // PASS-3: the four classes are required; the space is only allowed.
    let mut input = with_length(16);
    input.include_space = true;
    let passwords = many(&input, 50);
    for p in &passwords {
        for class in [LOWER, UPPER, DIGITS, PUNCTUATION] {
            assert!(has_any(p, class), "{p} lacks one of {class}");
        }
    }
    // 100 passwords of 16 characters drawn from 95: some have a space.
    assert!(passwords.iter().any(|p| p.contains(' ')));
    // Excluding the space character overrides include_space.
    input.exclude_characters = Some(" ".to_owned());
    for p in many(&input, 20) {
        assert!(!p.contains(' '), "{p:?}");
    }
}

#[test]
fn require_each_included_type_false_allows_short_passwords() {
    for n in 1..=4 {
        let mut input = with_length(n);
        input.require_each_included_type = false;
        input.include_space = true;
        for p in many(&input, 10) {
            assert_eq!(p.chars().count(), usize::try_from(n).unwrap());
        }
    }
    // With every class required, 1 to 3 are too short for the four classes; 4 is enough, as
    // the space is not one of them.
    for n in 1..=3 {
        let mut input = with_length(n);
        input.include_space = true;
        for r in generate(&input) {
            assert_err(r, ErrorKind::InvalidParameter, TOO_SHORT);
        }
    }
    let mut four = with_length(4);
    four.include_space = true;
    assert!(generate(&four).iter().all(Result::is_ok));
}

#[test]
fn length_is_1_to_4096() {
    // One class left: a single character satisfies it.
    let mut one = with_length(1);
    one.exclude_lowercase = true;
    one.exclude_uppercase = true;
    one.exclude_punctuation = true;
    for p in many(&one, 10) {
        assert_eq!(p.len(), 1);
        assert!(p.chars().all(|c| c.is_ascii_digit()));
    }
    for r in generate(&with_length(4096)) {
        assert_eq!(r.unwrap().expose_str().unwrap().chars().count(), 4096);
    }
    for r in generate(&with_length(4)) {
        assert_eq!(r.unwrap().len(), 4);
    }
    for (n, constraint) in [
        (0, "Member must have value greater than or equal to 1"),
        (-1, "Member must have value greater than or equal to 1"),
        (4097, "Member must have value less than or equal to 4096"),
        (
            i64::MAX,
            "Member must have value less than or equal to 4096",
        ),
    ] {
        for r in generate(&with_length(n)) {
            assert_err(
                r,
                ErrorKind::Validation,
                &format!(
                    "1 validation error detected: Value '{n}' at 'PasswordLength' failed to satisfy constraint: {constraint}"
                ),
            );
        }
    }
}

#[test]
fn too_short_for_the_required_classes_or_nothing_left() {
    for r in generate(&with_length(3)) {
        assert_err(r, ErrorKind::InvalidParameter, TOO_SHORT);
    }
    let mut nothing = GetRandomPasswordInput::default();
    nothing.exclude_lowercase = true;
    nothing.exclude_uppercase = true;
    nothing.exclude_numbers = true;
    nothing.exclude_punctuation = true;
    for r in generate(&nothing) {
        assert_err(r, ErrorKind::InvalidParameter, TOO_SHORT);
    }
    // Excluding every character is the same as excluding every class.
    let mut all_chars = GetRandomPasswordInput::default();
    all_chars.exclude_characters = Some([LOWER, UPPER, DIGITS, PUNCTUATION].concat());
    all_chars.require_each_included_type = false;
    for r in generate(&all_chars) {
        assert_err(r, ErrorKind::InvalidParameter, TOO_SHORT);
    }
    // ...unless a space is allowed.
    all_chars.include_space = true;
    for p in many(&all_chars, 5) {
        assert_eq!(p, " ".repeat(32));
    }
}

#[test]
fn debug_output_is_redacted() {
    for r in generate(&GetRandomPasswordInput::default()) {
        let p = r.unwrap();
        let shown = format!("{p:?}");
        assert_eq!(shown, "SecretValue(<redacted>)");
        assert!(!shown.contains(p.expose_str().unwrap()));
        assert_eq!(format!("{p:#?}"), "SecretValue(<redacted>)");
    }
}
