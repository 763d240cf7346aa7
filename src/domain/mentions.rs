//! Mentions in a note: which staff members `@First Last` or `@First` names in its text.
//!
//! The rules (also in README.md, "The inbox in the browser"):
//! - A mention starts at an `@` at the start of the text or after a character that cannot be
//!   part of an e-mail address (so `ana@shop.example` names nobody).
//! - What follows is compared, ignoring case, with each staff member's full name (spaces
//!   collapsed) and with the first word of it; the longest name that matches wins, so
//!   `@Ana Maria` names "Ana Maria" and not "Ana"; at equal length someone's full name beats
//!   another's first name (`@Ana` names "Ana", not "Ana Maria"). A name matches only when it ends at the end
//!   of the text or before a character that is not a letter or digit (`@Ana,` and `@Ana.` name
//!   Ana; `@Anabel` does not).
//! - When the longest matching name belongs to more than one person (two people called Ana,
//!   `@Ana`), the mention names **neither**: guessing would notify, and open the conversation
//!   to, someone the writer may not have meant. The full name (or the API's `mentions` list)
//!   names one of them.
//! - Unknown names are plain text.

use super::UserId;

/// A staff member who can be mentioned: their id and display name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mentionable {
    /// Who.
    pub id: UserId,
    /// Their name as shown ("Ana Maria Silva", "محمد علي").
    pub name: String,
}

/// Characters that may stand before an `@` in an e-mail address; an `@` after one of these (or
/// after a letter or digit) is not a mention.
fn part_of_address(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '.' | '_' | '%' | '+' | '-' | '\'')
}

/// The name as compared: lower case, words separated by one space.
fn key(name: &str) -> Vec<char> {
    name.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .flat_map(char::to_lowercase)
        .collect()
}

/// How many characters of `text` (lower-cased, from its start) `name` matches, whitespace in the
/// name matching one whitespace character; `None` unless it matches and ends at a word boundary.
fn matches_at(text: &[char], name: &[char]) -> Option<usize> {
    if name.is_empty() || text.len() < name.len() {
        return None;
    }
    for (t, n) in text.iter().zip(name) {
        let same = if *n == ' ' { t.is_whitespace() } else { t == n };
        if !same {
            return None;
        }
    }
    match text.get(name.len()) {
        Some(c) if c.is_alphanumeric() => None,
        _ => Some(name.len()),
    }
}

/// The staff members `text` mentions, in order of first mention, each once.
pub fn parse(text: &str, staff: &[Mentionable]) -> Vec<UserId> {
    // Every name a person answers to: the full name and its first word.
    // (name, whose, is it their full name)
    let mut names: Vec<(Vec<char>, UserId, bool)> = Vec::new();
    for s in staff {
        let full = key(&s.name);
        if full.is_empty() {
            continue;
        }
        let first: Vec<char> = full.iter().copied().take_while(|c| *c != ' ').collect();
        if first.len() < full.len() {
            names.push((first, s.id, false));
        }
        names.push((full, s.id, true));
    }
    let lower: Vec<char> = text.chars().flat_map(char::to_lowercase).collect();
    // Lower-casing may change the length of a few characters (İ); compare on the lowered text.
    let mut found = Vec::new();
    for (i, c) in lower.iter().enumerate() {
        if *c != '@' || (i > 0 && part_of_address(lower[i - 1])) {
            continue;
        }
        let rest = &lower[i + 1..];
        // Longest first; at the same length a full name beats someone's first name.
        let mut best = (0, false);
        let mut who: Vec<UserId> = Vec::new();
        for (name, id, full) in &names {
            let Some(n) = matches_at(rest, name) else {
                continue;
            };
            if (n, *full) > best {
                best = (n, *full);
                who = vec![*id];
            } else if (n, *full) == best && !who.contains(id) {
                who.push(*id);
            }
        }
        // Ambiguous (two people answer to the longest match): nobody.
        if let [one] = who[..]
            && !found.contains(&one)
        {
            found.push(one);
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn staff() -> Vec<Mentionable> {
        [
            (1, "Ana"),
            (2, "Ana Maria"),
            (3, "Bruno Costa"),
            (4, "محمد علي"),
            (5, "Zoë"),
            (6, "Carla Dias"),
            (7, "Carla Reis"),
        ]
        .into_iter()
        .map(|(id, name)| Mentionable {
            id: UserId(id),
            name: name.into(),
        })
        .collect()
    }

    #[test]
    fn parsing_cases() {
        // (case, text, mentioned ids)
        let table: &[(&str, &str, &[i64])] = &[
            ("first name", "@Bruno please call back", &[3]),
            ("full name", "ask @Bruno Costa", &[3]),
            ("case does not matter", "@bruno costa", &[3]),
            ("longest match wins", "@Ana Maria knows", &[2]),
            ("shorter name alone", "@Ana knows", &[1]),
            (
                "punctuation after the name",
                "thanks @Ana, and @Bruno.",
                &[1, 3],
            ),
            ("question mark", "@Zoë?", &[5]),
            ("Arabic full name", "اسأل @محمد علي من فضلك", &[4]),
            ("Arabic first name", "@محمد، شكرا", &[4]),
            ("at start and in brackets", "(@Bruno) and @Ana", &[3, 1]),
            ("each once", "@Ana @Ana @ana", &[1]),
            ("e-mail address", "write to ana@shop.example", &[]),
            (
                "address with a dot before @",
                "bruno.costa@shop.example",
                &[],
            ),
            ("a longer word is not the name", "@Anabel called", &[]),
            ("unknown name", "@Nobody here", &[]),
            ("bare @", "meet @ 5", &[]),
            ("ambiguous first name: neither", "@Carla can you check", &[]),
            ("another's first name loses to a full name", "@ana!", &[1]),
            (
                "ambiguous, but full name names one",
                "@Carla Reis can you check",
                &[7],
            ),
            ("line break between words", "@Bruno\nCosta", &[3]),
        ];
        for (case, text, want) in table {
            let got: Vec<i64> = parse(text, &staff()).into_iter().map(|u| u.0).collect();
            assert_eq!(&got, want, "{case}: {text:?}");
        }
    }

    mod what_they_allow {
        use crate::domain::policy::{Action, Actor, Denied, Ownership, can_see, check, scope};
        use crate::domain::{Role, TeamId, UserId, Visibility};

        const ME: UserId = UserId(1);
        const OTHER: UserId = UserId(2);
        const MY_TEAM: TeamId = TeamId(10);
        const OTHER_TEAM: TeamId = TeamId(20);

        #[derive(Clone, Copy, Debug, PartialEq)]
        enum Held {
            Other,
            UnassignedOtherTeam,
        }

        impl Held {
            fn conv(self) -> Ownership {
                match self {
                    Held::Other => Ownership::held(Some(OTHER), Some(MY_TEAM)),
                    Held::UnassignedOtherTeam => Ownership::held(None, Some(OTHER_TEAM)),
                }
            }
        }

        /// A mention opens an unresolved conversation to its person for reading and notes, under
        /// every setting, and nothing more; resolved, only what the role allows remains.
        #[test]
        fn what_a_mention_allows() {
            use Action::*;
            let agent = Actor {
                id: ME,
                role: Role::Agent,
                teams: vec![MY_TEAM],
            };
            let mentioned = |held: Held, resolved: bool| Ownership {
                resolved,
                mentioned: vec![ME],
                ..held.conv()
            };
            for vis in Visibility::ALL {
                for held in [Held::Other, Held::UnassignedOtherTeam] {
                    let c = mentioned(held, false);
                    let by_role = |a| check(&agent, *vis, a, &held.conv());
                    let got = |a| check(&agent, *vis, a, &c);
                    assert!(can_see(&agent, *vis, &c), "{vis} {held:?}");
                    assert_eq!(got(View), Ok(()), "{vis} {held:?}");
                    assert_eq!(got(Note), Ok(()), "{vis} {held:?}");
                    assert!(
                        matches!(got(Reply), Err(Denied::NotOwner { .. })),
                        "{vis} {held:?}"
                    );
                    for a in [Assign, SetStatus] {
                        assert_eq!(got(a), Err(Denied::Forbidden), "{vis} {held:?} {a:?}");
                    }
                    // Tag and claim: whatever the role allowed without the mention, except that
                    // hidden becomes "not allowed" (it is visible now).
                    for a in [Tag, Claim] {
                        let want = match by_role(a) {
                            Err(Denied::NotVisible) if a == Claim && held == Held::Other => {
                                Err(Denied::AlreadyAssigned { owner: OTHER })
                            }
                            Err(Denied::NotVisible) => Err(Denied::Forbidden),
                            other => other,
                        };
                        assert_eq!(got(a), want, "{vis} {held:?} {a:?}");
                    }
                    // Resolved: back to what the role allows.
                    let r = mentioned(held, true);
                    for a in Action::ALL {
                        let plain = Ownership {
                            resolved: true,
                            ..held.conv()
                        };
                        assert_eq!(
                            check(&agent, *vis, *a, &r),
                            check(&agent, *vis, *a, &plain),
                            "{vis} {held:?} {a:?} resolved"
                        );
                    }
                    assert!(scope(&agent, *vis).contains(&c), "{vis} {held:?}");
                    assert_eq!(
                        scope(&agent, *vis).contains(&r),
                        can_see(&agent, *vis, &r),
                        "{vis} {held:?}"
                    );
                }
            }
            // Someone else's mention opens nothing to me.
            let theirs = Ownership {
                mentioned: vec![OTHER],
                ..Held::UnassignedOtherTeam.conv()
            };
            assert!(!can_see(&agent, Visibility::Own, &theirs));
        }
    }
}
