//! The channel automation (#13): its settings with Meta's limits, and the pure rules of the menu
//! bot — which option a customer's answer picks (by reply id, number or title), whether it asks
//! for a human, whether it answers the satisfaction survey — and what the customer is sent
//! (WhatsApp interactive objects, numbered text elsewhere). The contract is `shared/API.md`
//! ("Automations"); the limits are Meta's, from the `InteractiveObject` schema of the Cloud API
//! spec in `shared/whatsapp/` (body ≤ 1024, reply buttons ≤ 3 with titles ≤ 20, list rows ≤ 10
//! with titles ≤ 24 and ids ≤ 200).

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::Priority;

/// Most options a menu may offer (a WhatsApp list holds at most 10 rows).
pub const MAX_OPTIONS: usize = 10;
/// Most options sent as reply buttons; more go as a list message.
pub const MAX_BUTTONS: usize = 3;
/// Longest reply-button title, in characters (Meta).
pub const MAX_BUTTON_TITLE: usize = 20;
/// Longest list-row title, in characters (Meta).
pub const MAX_ROW_TITLE: usize = 24;
/// Longest message body of an interactive message, in characters (Meta).
pub const MAX_BODY: usize = 1024;
/// Longest option id, in characters (a list row id, Meta).
pub const MAX_OPTION_ID: usize = 200;
/// Shortest and longest bot timeout, in seconds.
pub const TIMEOUT_SECS: std::ops::RangeInclusive<i64> = 10..=86_400;
/// Most human keywords, and the longest one in characters.
pub const MAX_KEYWORDS: usize = 20;
/// Longest human keyword, in characters.
pub const MAX_KEYWORD: usize = 50;
/// Most tags one option sets.
pub const MAX_OPTION_TAGS: usize = 10;
/// The list button of the menu and of the survey (≤ 20 characters, Meta).
pub const MENU_BUTTON: &str = "Choose";
/// The list button of the survey.
pub const CSAT_BUTTON: &str = "Rate us";
/// Prefix of the survey's list-row ids (`csat_1` … `csat_5`).
pub const CSAT_ID_PREFIX: &str = "csat_";

/// A channel's automation: `{"menu","away","csat"}`, written whole.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Automation {
    /// The menu bot.
    pub menu: Menu,
    /// The answer outside business hours.
    pub away: Away,
    /// The satisfaction survey after a resolve.
    pub csat: Csat,
}

/// The menu bot of a channel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Menu {
    /// Whether new cycles meet the menu.
    pub enabled: bool,
    /// The greeting (1–1024 characters).
    pub text: String,
    /// 1–10 choices.
    #[serde(default)]
    pub options: Vec<MenuOption>,
    /// Seconds without a choice before the bot hands over (10–86400).
    #[serde(default = "default_timeout")]
    pub timeout_secs: i64,
    /// Words that ask for a person (matched as whole words, case-insensitive).
    #[serde(default = "default_keywords")]
    pub human_keywords: Vec<String>,
}

/// One choice of the menu.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MenuOption {
    /// Stable id (the reply id WhatsApp echoes), 1–200 characters.
    pub id: String,
    /// What the customer reads: ≤ 20 characters as a button, ≤ 24 as a list row.
    pub title: String,
    /// The team it hands to (`null`: the general pool).
    #[serde(default)]
    pub team_id: Option<i64>,
    /// Tag names it adds.
    #[serde(default)]
    pub tags: Vec<String>,
    /// The priority it sets (`null`: unchanged).
    #[serde(default)]
    pub priority: Option<Priority>,
}

/// The answer outside business hours.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Away {
    /// Whether it is sent.
    pub enabled: bool,
    /// Its text (1–1024 characters).
    pub text: String,
}

/// The satisfaction survey.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Csat {
    /// Whether it is sent after a resolve.
    pub enabled: bool,
    /// Its question (1–1024 characters).
    pub text: String,
}

fn default_timeout() -> i64 {
    300
}

fn default_keywords() -> Vec<String> {
    vec!["agent".into(), "human".into()]
}

impl Default for Automation {
    fn default() -> Self {
        Automation {
            menu: Menu {
                enabled: false,
                text: "Hi! What can we help you with?".into(),
                options: Vec::new(),
                timeout_secs: default_timeout(),
                human_keywords: default_keywords(),
            },
            away: Away {
                enabled: false,
                text: "We are closed now; we answer from 9:00.".into(),
            },
            csat: Csat {
                enabled: false,
                text: "How did we do? Tap a number.".into(),
            },
        }
    }
}

/// What is wrong with an automation: a stable code and a sentence for the person editing it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Stable code (`too_many_options`, `title_too_long`, …).
    pub code: &'static str,
    /// What to change.
    pub message: String,
}

fn problem(code: &'static str, message: impl Into<String>) -> Problem {
    Problem {
        code,
        message: message.into(),
    }
}

fn check_text(field: &str, text: &str) -> Result<(), Problem> {
    let n = text.trim().chars().count();
    if n == 0 {
        return Err(problem("empty_text", format!("{field} must not be empty")));
    }
    if n > MAX_BODY {
        return Err(problem(
            "text_too_long",
            format!("{field} has {n} characters; WhatsApp allows at most {MAX_BODY}"),
        ));
    }
    Ok(())
}

impl Automation {
    /// Checks Meta's limits and ours (teams and tag names are the caller's to check). Texts are
    /// trimmed first ([`Automation::trimmed`]).
    ///
    /// # Errors
    /// The first [`Problem`] found.
    pub fn check(&self) -> Result<(), Problem> {
        check_text("menu.text", &self.menu.text)?;
        check_text("away.text", &self.away.text)?;
        check_text("csat.text", &self.csat.text)?;
        let m = &self.menu;
        let n = m.options.len();
        if n > MAX_OPTIONS {
            return Err(problem(
                "too_many_options",
                format!("the menu has {n} options; WhatsApp shows at most {MAX_OPTIONS}"),
            ));
        }
        if m.enabled && n == 0 {
            return Err(problem(
                "no_options",
                "an enabled menu needs at least one option",
            ));
        }
        let (max_title, shown_as) = if n <= MAX_BUTTONS {
            (MAX_BUTTON_TITLE, "a button")
        } else {
            (MAX_ROW_TITLE, "a list row")
        };
        for (i, o) in m.options.iter().enumerate() {
            let which = format!("option {}", i + 1);
            let id = o.id.trim();
            if id.is_empty() || id.chars().count() > MAX_OPTION_ID {
                return Err(problem(
                    "invalid_option_id",
                    format!("{which}: the id must have 1 to {MAX_OPTION_ID} characters"),
                ));
            }
            let t = o.title.trim().chars().count();
            if t == 0 {
                return Err(problem("empty_title", format!("{which} needs a title")));
            }
            if t > max_title {
                return Err(problem(
                    "title_too_long",
                    format!(
                        "{which}: \"{}\" has {t} characters; as {shown_as} WhatsApp allows at most {max_title}",
                        o.title.trim()
                    ),
                ));
            }
            let earlier = &m.options[..i];
            if earlier.iter().any(|e| e.id.trim() == id) {
                return Err(problem(
                    "duplicate_option",
                    format!("{which}: the id \"{id}\" is used twice"),
                ));
            }
            if earlier
                .iter()
                .any(|e| e.title.trim().eq_ignore_ascii_case(o.title.trim()))
            {
                return Err(problem(
                    "duplicate_option",
                    format!("{which}: the title \"{}\" is used twice", o.title.trim()),
                ));
            }
            if o.tags.len() > MAX_OPTION_TAGS {
                return Err(problem(
                    "too_many_tags",
                    format!("{which} may add at most {MAX_OPTION_TAGS} tags"),
                ));
            }
        }
        if !TIMEOUT_SECS.contains(&m.timeout_secs) {
            return Err(problem(
                "invalid_timeout",
                format!(
                    "timeout_secs must be between {} and {}",
                    TIMEOUT_SECS.start(),
                    TIMEOUT_SECS.end()
                ),
            ));
        }
        if m.human_keywords.len() > MAX_KEYWORDS {
            return Err(problem(
                "too_many_keywords",
                format!("at most {MAX_KEYWORDS} human keywords"),
            ));
        }
        for k in &m.human_keywords {
            let n = k.trim().chars().count();
            if n == 0 || n > MAX_KEYWORD || words(k).is_empty() {
                return Err(problem(
                    "invalid_keyword",
                    format!(
                        "the keyword \"{}\" must have 1 to {MAX_KEYWORD} characters and a letter or digit",
                        k.trim()
                    ),
                ));
            }
        }
        Ok(())
    }

    /// The same automation with every text, id, title, keyword and tag trimmed.
    pub fn trimmed(mut self) -> Automation {
        let t = |s: &mut String| *s = s.trim().to_string();
        t(&mut self.menu.text);
        t(&mut self.away.text);
        t(&mut self.csat.text);
        for o in &mut self.menu.options {
            t(&mut o.id);
            t(&mut o.title);
            o.tags.iter_mut().for_each(t);
        }
        self.menu.human_keywords.iter_mut().for_each(t);
        self
    }
}

/// Lower-cased words (runs of letters and digits) of `s`.
fn words(s: &str) -> Vec<String> {
    s.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect()
}

/// Whether `text` contains `keyword` as whole words ("agent" is in "an agent, please" but not
/// in "agents" or "reagent"; "real person" matches those two words in a row).
pub fn has_keyword(text: &str, keyword: &str) -> bool {
    let k = words(keyword);
    if k.is_empty() {
        return false;
    }
    words(text).windows(k.len()).any(|w| w == k.as_slice())
}

/// What a customer's message means to a bot that showed its menu.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Choice {
    /// The option at this index.
    Option(usize),
    /// They asked for a person.
    Human,
    /// Nothing the bot understands.
    NoMatch,
}

/// Reads a customer's answer to the menu: a WhatsApp reply id equal to an option id; else the
/// text as an option's number ("2"), title or id (case-insensitive, surrounding blanks and a
/// trailing "." ignored); else a human keyword as a word ([`has_keyword`]); else no match.
pub fn choose(menu: &Menu, text: &str, reply_id: Option<&str>) -> Choice {
    if let Some(i) = reply_id.and_then(|r| menu.options.iter().position(|o| o.id == r)) {
        return Choice::Option(i);
    }
    let t = text.trim().trim_end_matches('.').trim();
    if let Ok(n) = t.parse::<usize>()
        && (1..=menu.options.len()).contains(&n)
    {
        return Choice::Option(n - 1);
    }
    let lower = t.to_lowercase();
    if let Some(i) = menu
        .options
        .iter()
        .position(|o| o.title.trim().to_lowercase() == lower || o.id.to_lowercase() == lower)
    {
        return Choice::Option(i);
    }
    if menu.human_keywords.iter().any(|k| has_keyword(text, k)) {
        return Choice::Human;
    }
    Choice::NoMatch
}

/// Reads an answer to the survey: the list reply `csat_N`, or the text "N" alone (1–5).
pub fn csat_score(text: &str, reply_id: Option<&str>) -> Option<u8> {
    let from_id = reply_id.and_then(|r| r.strip_prefix(CSAT_ID_PREFIX));
    let raw = from_id.unwrap_or(text).trim().trim_end_matches('.').trim();
    match raw.parse::<u8>() {
        Ok(n) if (1..=5).contains(&n) => Some(n),
        _ => None,
    }
}

/// The text with one numbered line per choice ("1. Buy something"): what the API channel sends
/// and what the timeline shows.
pub fn numbered(text: &str, titles: &[&str]) -> String {
    let mut out = text.trim().to_string();
    if !titles.is_empty() {
        out.push('\n');
    }
    for (i, t) in titles.iter().enumerate() {
        out.push_str(&format!("\n{}. {}", i + 1, t));
    }
    out
}

/// The menu as numbered text.
pub fn menu_text(menu: &Menu) -> String {
    let titles: Vec<&str> = menu.options.iter().map(|o| o.title.as_str()).collect();
    numbered(&menu.text, &titles)
}

/// The menu as a WhatsApp `interactive` object: reply buttons for up to 3 options, else a list.
pub fn menu_interactive(menu: &Menu) -> Value {
    let pairs: Vec<(&str, &str)> = menu
        .options
        .iter()
        .map(|o| (o.id.as_str(), o.title.as_str()))
        .collect();
    if pairs.len() <= MAX_BUTTONS {
        json!({
            "type": "button",
            "body": {"text": menu.text},
            "action": {"buttons": pairs.iter().map(|(id, title)| json!({
                "type": "reply", "reply": {"id": id, "title": title}})).collect::<Vec<_>>()},
        })
    } else {
        list(&menu.text, MENU_BUTTON, &pairs)
    }
}

fn list(body: &str, button: &str, rows: &[(&str, &str)]) -> Value {
    json!({
        "type": "list",
        "body": {"text": body},
        "action": {"button": button, "sections": [{"rows": rows.iter().map(|(id, title)| json!({
            "id": id, "title": title})).collect::<Vec<_>>()}]},
    })
}

/// The survey's five choices, as (id, title).
pub fn csat_rows() -> Vec<(String, String)> {
    (1..=5)
        .map(|n| (format!("{CSAT_ID_PREFIX}{n}"), n.to_string()))
        .collect()
}

/// The survey as numbered text ("1. 1" would read oddly, so the choices are the numbers alone).
pub fn csat_text(text: &str) -> String {
    format!("{}\n\n1 2 3 4 5", text.trim())
}

/// The survey as a WhatsApp list message (5 rows).
pub fn csat_interactive(text: &str) -> Value {
    let rows = csat_rows();
    let pairs: Vec<(&str, &str)> = rows.iter().map(|(i, t)| (i.as_str(), t.as_str())).collect();
    list(text, CSAT_BUTTON, &pairs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opt(id: &str, title: &str) -> MenuOption {
        MenuOption {
            id: id.into(),
            title: title.into(),
            team_id: None,
            tags: Vec::new(),
            priority: None,
        }
    }

    fn menu(options: Vec<MenuOption>) -> Menu {
        Menu {
            enabled: true,
            options,
            ..Automation::default().menu
        }
    }

    fn shop() -> Menu {
        menu(vec![
            opt("sales", "Buy something"),
            opt("support", "Help with an order"),
            opt("other", "Something else"),
        ])
    }

    #[test]
    fn answers_pick_an_option_a_human_or_nothing() {
        let m = shop();
        let table: &[(&str, Option<&str>, Choice)] = &[
            ("Buy something", Some("sales"), Choice::Option(0)),
            (
                "whatever the title says",
                Some("support"),
                Choice::Option(1),
            ),
            ("2", None, Choice::Option(1)),
            (" 3. ", None, Choice::Option(2)),
            ("BUY SOMETHING", None, Choice::Option(0)),
            ("help with an order", None, Choice::Option(1)),
            ("Sales", None, Choice::Option(0)),
            ("4", None, Choice::NoMatch),
            ("0", None, Choice::NoMatch),
            ("agent", None, Choice::Human),
            ("Can I talk to a HUMAN please?", None, Choice::Human),
            ("agents", None, Choice::NoMatch),
            ("reagent", None, Choice::NoMatch),
            ("I want to buy something", None, Choice::NoMatch),
            ("hello", Some("unknown-id"), Choice::NoMatch),
            ("", None, Choice::NoMatch),
        ];
        for (text, reply, want) in table {
            assert_eq!(choose(&m, text, *reply), *want, "{text:?} {reply:?}");
        }
    }

    #[test]
    fn keywords_are_whole_words_in_a_row() {
        let table = [
            ("talk to a real person", "real person", true),
            ("a person who is real", "real person", false),
            ("Agent!", "agent", true),
            ("agentur", "agent", false),
            ("x", "!!", false),
        ];
        for (text, k, want) in table {
            assert_eq!(has_keyword(text, k), want, "{text:?} {k:?}");
        }
    }

    #[test]
    fn survey_answers() {
        let table: &[(&str, Option<&str>, Option<u8>)] = &[
            ("5", None, Some(5)),
            (" 1 ", None, Some(1)),
            ("whatever", Some("csat_4"), Some(4)),
            ("6", None, None),
            ("0", None, None),
            ("5 stars", None, None),
            ("thanks", None, None),
            ("x", Some("csat_9"), None),
        ];
        for (text, reply, want) in table {
            assert_eq!(csat_score(text, *reply), *want, "{text:?} {reply:?}");
        }
    }

    #[test]
    fn metas_limits_are_checked() {
        let ok = Automation {
            menu: shop(),
            ..Automation::default()
        };
        assert_eq!(ok.check(), Ok(()));
        let long21 = "x".repeat(21);
        let long25 = "y".repeat(25);
        let many: Vec<MenuOption> = (0..11).map(|i| opt(&format!("o{i}"), "t")).collect();
        let mut table: Vec<(Automation, &str)> = Vec::new();
        let with = |f: &dyn Fn(&mut Automation)| {
            let mut a = ok.clone();
            f(&mut a);
            a
        };
        table.push((with(&|a| a.menu.options = many.clone()), "too_many_options"));
        table.push((with(&|a| a.menu.options.clear()), "no_options"));
        table.push((
            with(&|a| a.menu.options[0].title = long21.clone()),
            "title_too_long",
        ));
        table.push((
            with(&|a| {
                a.menu.options = (0..4)
                    .map(|i| opt(&format!("o{i}"), &format!("t{i}")))
                    .collect();
                a.menu.options[3].title = long25.clone();
            }),
            "title_too_long",
        ));
        table.push((with(&|a| a.menu.text = "z".repeat(1025)), "text_too_long"));
        table.push((with(&|a| a.csat.text = " ".into()), "empty_text"));
        table.push((
            with(&|a| a.menu.options[1].id = "sales".into()),
            "duplicate_option",
        ));
        table.push((with(&|a| a.menu.timeout_secs = 5), "invalid_timeout"));
        table.push((
            with(&|a| a.menu.human_keywords = vec!["?!".into()]),
            "invalid_keyword",
        ));
        for (a, code) in &table {
            assert_eq!(a.check().map_err(|p| p.code), Err(*code), "{a:?}");
        }
        // A 21-character title is fine as a list row (4+ options), a disabled menu may be empty.
        let rows = with(&|a| {
            a.menu.options = (0..4)
                .map(|i| opt(&format!("o{i}"), &format!("{i}")))
                .collect();
            a.menu.options[0].title = long21.clone();
        });
        assert_eq!(rows.check(), Ok(()));
        let off = with(&|a| {
            a.menu.enabled = false;
            a.menu.options.clear();
        });
        assert_eq!(off.check(), Ok(()));
    }

    #[test]
    fn buttons_up_to_three_then_a_list() {
        let b = menu_interactive(&shop());
        assert_eq!(b["type"], "button");
        assert_eq!(b["action"]["buttons"][2]["reply"]["id"], "other");
        let mut four = shop();
        four.options.push(opt("jobs", "Work with us"));
        let l = menu_interactive(&four);
        assert_eq!(l["type"], "list");
        assert_eq!(
            l["action"]["sections"][0]["rows"][3]["title"],
            "Work with us"
        );
        assert_eq!(
            menu_text(&shop()),
            "Hi! What can we help you with?\n\n1. Buy something\n2. Help with an order\n3. Something else"
        );
        assert_eq!(
            csat_interactive("How?")["action"]["sections"][0]["rows"][4]["id"],
            "csat_5"
        );
    }
}
