//! The words of message text as search keys: what is kept of a message for search and of what a
//! person types to find it, one rule for both sides.

use icu_normalizer::DecomposingNormalizerBorrowed;
use icu_properties::CodePointMapData;
use icu_properties::props::{GeneralCategory, GeneralCategoryGroup};

/// Tatweel (U+0640), the Arabic stretching stroke: a letter to Unicode (Lm) but decoration to a
/// reader, so left out like the vowel marks.
const TATWEEL: char = '\u{0640}';

/// The search terms of `text`, in order of appearance (repeats kept): lower-cased runs of letters
/// and digits, with accents and other combining marks left out (canonical decomposition, NFD,
/// then every character of general category M dropped: "Café" → "cafe", Arabic "مُحَمَّد" →
/// "محمد") and tatweel too. Anything else (spaces, punctuation, emoji, symbols) separates terms.
///
/// A term is a non-empty string whose ASCII characters are only `a`–`z` and `0`–`9`, so terms
/// joined by spaces are split back exactly by SQLite's `ascii` tokenizer (migration 019).
/// Unicode rules: UAX #15 (normalization forms), UAX #44 (general categories).
pub fn terms(text: &str) -> Vec<String> {
    let lower = text.to_lowercase();
    let nfd = DecomposingNormalizerBorrowed::new_nfd().normalize(&lower);
    let categories = CodePointMapData::<GeneralCategory>::new();
    let mut out = Vec::new();
    let mut word = String::new();
    for c in nfd.chars() {
        if c == TATWEEL || GeneralCategoryGroup::Mark.contains(categories.get(c)) {
            continue;
        }
        // Lower-casing after decomposition can give more than one character (rare); each is
        // judged on its own.
        for l in c.to_lowercase() {
            if l.is_alphanumeric() {
                word.push(l);
            } else if !word.is_empty() {
                out.push(std::mem::take(&mut word));
            }
        }
    }
    if !word.is_empty() {
        out.push(word);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terms_fold_case_accents_and_marks_and_split_at_everything_else() {
        let table: &[(&str, &[&str])] = &[
            (
                "Le café est arrivé, merci !",
                &["le", "cafe", "est", "arrive", "merci"],
            ),
            ("LEATHER-jacket", &["leather", "jacket"]),
            ("Lieferung für Müller", &["lieferung", "fur", "muller"]),
            ("مُحَمَّد شكراً", &["محمد", "شكرا"]),
            ("شكـــرا", &["شكرا"]),
            (
                "Size M 🧥 back on Tuesday",
                &["size", "m", "back", "on", "tuesday"],
            ),
            ("ÇA coûte 25€", &["ca", "coute", "25"]),
            ("İstanbul ΟΔΥΣΣΕΥΣ", &["istanbul", "οδυσσευς"]),
            ("東京 ok", &["東京", "ok"]),
            ("\") NEAR( *", &["near"]),
            ("!!! 🌸", &[]),
            ("", &[]),
        ];
        for (text, want) in table {
            assert_eq!(terms(text), *want, "{text:?}");
        }
    }

    #[test]
    fn terms_never_hold_an_ascii_separator_or_capital() {
        for text in ["A_b-c.d/e'f\"g*h(i)j", "x\u{0301}y\u{200d}z", "ǅungla Ⅻ ½"] {
            for t in terms(text) {
                assert!(!t.is_empty());
                assert!(
                    t.chars()
                        .all(|c| !c.is_ascii() || c.is_ascii_lowercase() || c.is_ascii_digit()),
                    "{text:?}: {t:?}"
                );
            }
        }
    }
}
