//! Phone numbers: the one canonical form we store and show (E.164 with `+`), reading what people
//! type and what providers send, and the national quirks that make one WhatsApp user appear
//! under two ids (Brazil's ninth digit, Mexico's `521` mobile prefix).
//!
//! E.164 (ITU-T Recommendation E.164): an international number is a country code followed by
//! the national number, at most 15 digits in all, written with a leading `+`; country codes never
//! begin with 0. WhatsApp's `wa_id` is the same digits without the `+` ([Meta: "Service
//! messages"], `contacts[].wa_id`); PROTOCOL.md §2.e and §5.

/// Fewest digits of an international number we accept: the shortest real ones (Niue, `+683`
/// and four digits) have 7.
pub const MIN_DIGITS: usize = 7;
/// Most digits of an international number (E.164).
pub const MAX_DIGITS: usize = 15;

/// Why a text is not a phone number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PhoneError {
    /// Nothing but separators.
    Empty,
    /// A character other than digits and separators (`+` only at the start).
    NotDigits,
    /// Fewer than [`MIN_DIGITS`] or more than [`MAX_DIGITS`] digits.
    Length,
    /// Starts with 0 once the `+` or `00` is taken off: no country code begins with 0 (a
    /// national number such as `0151…` needs the country code instead).
    NoCountryCode,
}

impl std::fmt::Display for PhoneError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            PhoneError::Empty => "it is empty",
            PhoneError::NotDigits => {
                "only digits, spaces, dashes, dots and brackets may follow a leading + or 00"
            }
            PhoneError::Length => "an international number has 7 to 15 digits",
            PhoneError::NoCountryCode => "it must start with the country code, such as +49",
        })
    }
}

/// Characters people put between digits: spaces (any Unicode space, such as a copied
/// no-break space), dashes, dots, slashes and brackets.
fn is_separator(c: char) -> bool {
    c.is_whitespace() || matches!(c, '-' | '‐' | '‑' | '–' | '.' | '/' | '(' | ')')
}

/// The canonical form `+<digits>` of a typed or provider-given number: separators dropped, a
/// leading `+` (or `(+`) or international prefix `00` taken as the start of the country code, and bare
/// digits (a WhatsApp `wa_id`) taken as international already.
///
/// `"+49 151 2345-6789"`, `"0049 (151) 23456789"` and `"4915123456789"` all give
/// `"+4915123456789"`. Errors: see [`PhoneError`].
pub fn canonical(input: &str) -> Result<String, PhoneError> {
    let t = input.trim();
    // "(+49) 151 …": the bracket before the plus is a separator too.
    let t = match t.strip_prefix('(') {
        Some(r) if r.starts_with('+') => r,
        _ => t,
    };
    let (plus, rest) = match t.strip_prefix('+') {
        Some(r) => (true, r),
        None => (false, t),
    };
    let mut digits = String::with_capacity(rest.len());
    for c in rest.chars() {
        if c.is_ascii_digit() {
            digits.push(c);
        } else if !is_separator(c) {
            return Err(PhoneError::NotDigits);
        }
    }
    if digits.is_empty() {
        return Err(PhoneError::Empty);
    }
    let digits = match digits.strip_prefix("00") {
        Some(after) if !plus => after.to_string(),
        _ => digits,
    };
    if !(MIN_DIGITS..=MAX_DIGITS).contains(&digits.len()) {
        return Err(PhoneError::Length);
    }
    if digits.starts_with('0') {
        return Err(PhoneError::NoCountryCode);
    }
    Ok(format!("+{digits}"))
}

/// The digits to look for when a person types a phone number, or part of one, in a search box:
/// `None` unless the text is only digits, separators (see [`canonical`]) and `+`, with 3 or more
/// digits. An international `00`, or (from 8 digits on) a national trunk `0`, is dropped, so
/// `0049 151…`, `0151 2345 6789` and `+49 151…` all look for digits every stored form contains.
pub fn search_digits(text: &str) -> Option<String> {
    let text = text.trim();
    if !text
        .chars()
        .all(|c| c.is_ascii_digit() || c == '+' || is_separator(c))
    {
        return None;
    }
    let digits: String = text.chars().filter(char::is_ascii_digit).collect();
    let wanted = if text.starts_with('+') {
        digits.as_str()
    } else if let Some(rest) = digits.strip_prefix("00") {
        rest
    } else if digits.len() >= 8 {
        digits.strip_prefix('0').unwrap_or(&digits)
    } else {
        digits.as_str()
    };
    (digits.len() >= 3 && wanted.len() >= 3).then(|| wanted.to_string())
}

/// The WhatsApp id (`wa_id`: digits, no `+`) of a canonical number.
pub fn wa_id(canonical: &str) -> &str {
    canonical.trim_start_matches('+')
}

/// Other `wa_id`s under which WhatsApp may know the user of `wa_id` (digits, no `+`); empty for
/// most numbers. Meta keeps the id a user registered with, so an old account answers under the
/// number's older form ("a WhatsApp user's ID and phone number may not always match", Meta's
/// webhook reference, PROTOCOL.md §2.e):
/// - Brazil: mobiles gained a ninth digit (a `9` after the two-digit area code, 2012–2016), so
///   `55 AA 9 NNNNNNNN` ≡ `55 AA NNNNNNNN` where the old eight-digit mobile number began with
///   6–9 (landlines begin with 2–5 and never took the 9). Area codes are 11–99 without a 0.
/// - Mexico: mobiles were dialled internationally as `52 1` + ten digits until 2019/2020, and
///   WhatsApp ids of that time keep the `1`: `52 1 NNNNNNNNNN` ≡ `52 NNNNNNNNNN`.
pub fn equivalent_wa_ids(wa_id: &str) -> Vec<String> {
    let d = wa_id.trim_start_matches('+');
    if !d.bytes().all(|b| b.is_ascii_digit()) {
        return Vec::new();
    }
    let b = d.as_bytes();
    let mut out = Vec::new();
    // Brazil.
    if let Some(rest) = d.strip_prefix("55") {
        let area_ok = b.len() >= 4 && b[2] != b'0' && b[3] != b'0';
        let rb = rest.as_bytes();
        if area_ok && rest.len() == 11 && rb[2] == b'9' && (b'6'..=b'9').contains(&rb[3]) {
            out.push(format!("55{}{}", &rest[..2], &rest[3..]));
        }
        if area_ok && rest.len() == 10 && (b'6'..=b'9').contains(&rb[2]) {
            out.push(format!("55{}9{}", &rest[..2], &rest[2..]));
        }
    }
    // Mexico.
    if let Some(rest) = d.strip_prefix("52") {
        match rest.strip_prefix('1') {
            Some(national) if national.len() == 10 && !national.starts_with('0') => {
                out.push(format!("52{national}"));
            }
            _ if rest.len() == 10 && !rest.starts_with(['0', '1']) => {
                out.push(format!("521{rest}"));
            }
            _ => {}
        }
    }
    out
}

/// Whether two `wa_id`s (or canonical numbers) can be the same WhatsApp user: equal, or one of
/// the other's [`equivalent_wa_ids`].
pub fn same_user(a: &str, b: &str) -> bool {
    let (a, b) = (a.trim_start_matches('+'), b.trim_start_matches('+'));
    a == b || equivalent_wa_ids(a).iter().any(|e| e == b)
}

/// What a number a channel reports for a known contact does to the one we hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reported {
    /// Nothing: the same number, or another form of it ([`same_user`]); the one we hold stays
    /// (it is the form staff typed or saw first).
    Same,
    /// We held none: the reported one fills the gap (nothing is overwritten).
    Fill,
    /// Another number: it replaces the held one (the customer's current number), and the change
    /// is recorded.
    Changed,
}

/// Compares a reported number with the held one (both canonical, or `wa_id` digits).
pub fn compare(held: Option<&str>, reported: &str) -> Reported {
    match held {
        None => Reported::Fill,
        Some(h) if same_user(h, reported) => Reported::Same,
        Some(_) => Reported::Changed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_to_look_for_when_a_number_is_searched() {
        for (typed, want) in [
            ("+49 151 2345 6789", Some("4915123456789")),
            ("0049 151-2345 6789", Some("4915123456789")),
            ("0151 2345 6789", Some("15123456789")),
            ("(555) 0001", Some("5550001")),
            ("555‑0001", Some("5550001")),
            ("0001", None),
            ("12", None),
            ("00 1", None),
            ("555 abc", None),
        ] {
            assert_eq!(search_digits(typed).as_deref(), want, "{typed:?}");
        }
    }

    #[test]
    fn what_people_type_and_providers_send() {
        use PhoneError::*;
        let table: &[(&str, Result<&str, PhoneError>)] = &[
            // WhatsApp wa_id, API-channel and typed forms of one number.
            ("4915123456789", Ok("+4915123456789")),
            ("+4915123456789", Ok("+4915123456789")),
            ("+49 151 2345-6789", Ok("+4915123456789")),
            ("0049 (151) 234.567.89", Ok("+4915123456789")),
            ("(+49) 151 23456789", Ok("+4915123456789")),
            ("  +49\u{a0}151\u{a0}23456789 ", Ok("+4915123456789")),
            ("+1 (555) 000-1234", Ok("+15550001234")),
            ("+1/555/0001234", Ok("+15550001234")),
            ("+15550001", Ok("+15550001")),
            ("+6834002", Ok("+6834002")),
            ("+123456789012345", Ok("+123456789012345")),
            // Not phone numbers.
            ("", Err(Empty)),
            ("  - ", Err(Empty)),
            ("+", Err(Empty)),
            ("call me maybe", Err(NotDigits)),
            ("+49 151 2345678 ext 12", Err(NotDigits)),
            ("+49+151", Err(NotDigits)),
            ("++4915123456789", Err(NotDigits)),
            ("１２３４５６７８", Err(NotDigits)),
            ("12", Err(Length)),
            ("+123456", Err(Length)),
            ("+1234567890123456", Err(Length)),
            ("0151 23456789", Err(NoCountryCode)),
            ("+0151 23456789", Err(NoCountryCode)),
            ("000151 23456789", Err(NoCountryCode)),
            ("+0049151234567", Err(NoCountryCode)),
        ];
        for (input, want) in table {
            assert_eq!(canonical(input).as_deref(), want.as_deref(), "{input:?}");
        }
    }

    #[test]
    fn canonical_is_idempotent_and_gives_the_wa_id() {
        let c = canonical("0049 151 23456789").expect("phone");
        assert_eq!(canonical(&c).as_deref(), Ok(c.as_str()));
        assert_eq!(wa_id(&c), "4915123456789");
    }

    #[test]
    fn national_forms_of_one_whatsapp_user() {
        let table: &[(&str, &[&str])] = &[
            // Brazil, São Paulo mobile, with and without the ninth digit.
            ("5511987654321", &["551187654321"]),
            ("551187654321", &["5511987654321"]),
            ("+5521964180266", &["552164180266"]),
            ("552164180266", &["5521964180266"]),
            ("558282136275", &["5582982136275"]),
            // Brazil, not mobiles or not the shape: a landline (2–5), an area code with 0,
            // a number too short or too long.
            ("551132654321", &[]),
            ("5511932654321", &[]),
            ("5501987654321", &[]),
            ("5510987654321", &[]),
            ("55119876543", &[]),
            ("55119876543210", &[]),
            // Mexico, the 521 mobile prefix both ways.
            ("5215512345678", &["525512345678"]),
            ("525512345678", &["5215512345678"]),
            ("52155123456", &[]),
            // Elsewhere: nothing.
            ("4915123456789", &[]),
            ("16505551234", &[]),
            ("351912345678", &[]),
            ("not digits", &[]),
        ];
        for (wa_id, want) in table {
            assert_eq!(equivalent_wa_ids(wa_id), *want, "{wa_id}");
        }
    }

    #[test]
    fn a_reported_number_fills_keeps_or_changes() {
        let table = [
            (None, "+4915123456789", Reported::Fill),
            (Some("+4915123456789"), "+4915123456789", Reported::Same),
            (Some("+5511987654321"), "+551187654321", Reported::Same),
            (Some("+4915123456789"), "+4915199999999", Reported::Changed),
        ];
        for (held, reported, want) in table {
            assert_eq!(compare(held, reported), want, "{held:?} {reported}");
        }
    }

    #[test]
    fn same_user_is_symmetric() {
        let pairs = [
            ("+5511987654321", "551187654321", true),
            ("551187654321", "+5511987654321", true),
            ("5215512345678", "+525512345678", true),
            ("+4915123456789", "4915123456789", true),
            ("+4915123456789", "4915123456788", false),
            ("551132654321", "5511932654321", false),
        ];
        for (a, b, want) in pairs {
            assert_eq!(same_user(a, b), want, "{a} {b}");
            assert_eq!(same_user(b, a), want, "{b} {a}");
        }
    }
}
