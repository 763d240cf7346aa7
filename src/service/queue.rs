//! The queue as every door lists it: the view, status and cursor parsed once, the caller's policy
//! scope applied, and (for the inbox page) the tab figures and which tabs the caller gets.

use rusqlite::Connection;

use super::{Result, bad_request};
use crate::domain::policy::{self, Actor};
use crate::domain::settings::Settings;
use crate::domain::{Status, TeamId, Visibility};
use crate::store::conversations::Conversation;
use crate::store::queue::{self, ConvQuery, Order, QueueCounts, Search, StatusFilter, View};
use crate::store::{settings, teams};

/// What a door does with a view, status or cursor it does not understand.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unknown {
    /// Refuse it with a 400 (the API: a client should learn its mistake).
    Refuse,
    /// Fall back to the default (a page: an old or edited link still shows something).
    Ignore,
}

/// A queue listing as a door received it (raw strings, parsed here).
#[derive(Debug, Clone)]
pub struct ListRequest {
    /// `unassigned`, `mine`, `pending`, `all` or `at_risk`; `None` or empty is `default_view`.
    pub view: Option<String>,
    /// The door's default view (the API lists `all`, the inbox opens on `mine`).
    pub default_view: View,
    /// `open`, `pending`, `snoozed`, `resolved`, `any`/`all`; `None` or empty: everything but
    /// resolved.
    pub status: Option<String>,
    /// Only this team.
    pub team: Option<TeamId>,
    /// Only with this tag (empty: any).
    pub tag: Option<String>,
    /// Text search.
    pub q: Option<String>,
    /// Page size (the caller clamps it).
    pub limit: i64,
    /// The `{sort key}_{id}` cursor of the previous page.
    pub before: Option<String>,
    /// `recent` (newest activity first) or `waiting` (longest waiting first); `None` or empty
    /// is `recent`. The `at_risk` view always lists what breaches first.
    pub sort: Option<String>,
    /// What to do with what does not parse.
    pub unknown: Unknown,
}

/// One page of a queue.
#[derive(Debug, Clone)]
pub struct Listing {
    /// The view that was listed (after defaulting).
    pub view: View,
    /// The order that was used (after defaulting).
    pub order: Order,
    /// The conversations, in the view's order, each with its `sla`.
    pub items: Vec<Conversation>,
    /// The cursor of the next page, as `{sort key}_{id}`.
    pub next: Option<String>,
}

/// The name of a view, as it appears in `?view=`.
pub fn view_name(view: View) -> &'static str {
    match view {
        View::Unassigned => "unassigned",
        View::Mine => "mine",
        View::Pending => "pending",
        View::All => "all",
        View::AtRisk => "at_risk",
    }
}

/// The name of an order, as it appears in `?sort=`.
pub fn order_name(order: Order) -> &'static str {
    match order {
        Order::Recent => "recent",
        Order::Waiting => "waiting",
    }
}

/// The view named `name`.
pub fn parse_view(name: &str) -> Option<View> {
    match name {
        "unassigned" => Some(View::Unassigned),
        "mine" => Some(View::Mine),
        "pending" => Some(View::Pending),
        "all" => Some(View::All),
        "at_risk" => Some(View::AtRisk),
        _ => None,
    }
}

/// Arabic vowel marks (harakat U+064B–U+0652, superscript alef U+0670) and tatweel (U+0640):
/// left out of what is indexed and of what is searched (migration 008's contacts_search_text).
fn is_arabic_mark(c: char) -> bool {
    matches!(c, '\u{064B}'..='\u{0652}' | '\u{0670}' | '\u{0640}')
}

/// Emoji (pictographs, symbols and dingbats): words of a name, as in migration 008's
/// contacts_words (Unicode category So).
fn is_emoji(c: char) -> bool {
    matches!(c, '\u{1F000}'..='\u{1FAFF}' | '\u{2600}'..='\u{27BF}' | '\u{2B00}'..='\u{2BFF}')
}

/// What a person typed in the search box, normalised; `None` for nothing (no filter).
///
/// - Words are runs of letters, digits and emoji (anything else separates them), without
///   Arabic vowel marks and tatweel; at most 8. Case and accents are left to the indexes, which
///   ignore them.
/// - A query made only of digits and the characters people put between them (`+49 151 2345
///   6789`, `0049 151…`, `(555) 0001`, `555-0001`) is also a phone number
///   ([`crate::domain::phone::search_digits`]): its digits are looked for inside every stored
///   number's digits, whatever punctuation is stored.
/// - Text without any word (`!!!`) is a search that finds nothing.
pub fn search(text: &str) -> Option<Search> {
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    let cleaned: String = text.chars().filter(|c| !is_arabic_mark(*c)).collect();
    let words: Vec<String> = cleaned
        .split(|c: char| !(c.is_alphanumeric() || is_emoji(c)))
        .filter(|w| !w.is_empty())
        .take(8)
        .map(String::from)
        .collect();
    let phone = crate::domain::phone::search_digits(text);
    Some(Search { words, phone })
}

/// A request's view, status, cursor and order, parsed.
type Parsed = (View, StatusFilter, Option<(i64, i64)>, Order);

/// Parses the request's view, status and cursor (pure; errors are 400s).
fn parse(req: &ListRequest) -> Result<Parsed> {
    let strict = req.unknown == Unknown::Refuse;
    let view = match req.view.as_deref().filter(|v| !v.is_empty()) {
        None => req.default_view,
        Some(v) => match parse_view(v) {
            Some(view) => view,
            None if strict => {
                return Err(bad_request(
                    "invalid_view",
                    format!("unknown view \"{v}\": use unassigned, mine, pending, all or at_risk"),
                ));
            }
            None => req.default_view,
        },
    };
    let status = match req.status.as_deref().filter(|s| !s.is_empty()) {
        None => StatusFilter::Unresolved,
        Some("any") | Some("all") => StatusFilter::Any,
        Some(s) => match Status::parse(s) {
            Some(st) => StatusFilter::Is(st),
            None if strict => {
                return Err(bad_request(
                    "invalid_status",
                    format!("unknown status \"{s}\": use open, pending, snoozed, resolved or all"),
                ));
            }
            None => StatusFilter::Unresolved,
        },
    };
    let before = match req.before.as_deref().filter(|b| !b.is_empty()) {
        None => None,
        Some(b) => match super::cursor(b) {
            Some([at, id]) => Some((at, id)),
            None if strict => return Err(super::invalid_cursor()),
            None => None,
        },
    };
    let order = match req.sort.as_deref().filter(|s| !s.is_empty()) {
        None | Some("recent") => Order::Recent,
        Some("waiting") => Order::Waiting,
        Some(s) if strict => {
            return Err(bad_request(
                "invalid_sort",
                format!("unknown sort \"{s}\": use recent or waiting"),
            ));
        }
        Some(_) => Order::Recent,
    };
    Ok((view, status, before, order))
}

/// Lists one page of a queue view, limited to what `actor` may see.
pub fn list(conn: &Connection, actor: &Actor, req: ListRequest) -> Result<Listing> {
    let settings = settings::load_settings(conn)?;
    list_with(conn, actor, &settings, req)
}

/// [`list`] with the settings already read.
fn list_with(
    conn: &Connection,
    actor: &Actor,
    settings: &Settings,
    req: ListRequest,
) -> Result<Listing> {
    let (view, status, before, order) = parse(&req)?;
    let q = ConvQuery {
        view,
        viewer: actor.id,
        scope: policy::scope(actor, settings.agent_visibility),
        team: req.team,
        tag: req.tag.filter(|t| !t.is_empty()),
        status,
        search: req.q.as_deref().and_then(search),
        limit: req.limit,
        before,
        order,
    };
    let (mut items, next) = queue::list_conversations(conn, &q)?;
    super::sla::attach(conn, &mut items, crate::domain::time::now_ms())?;
    Ok(Listing {
        view,
        order,
        items,
        next: next.map(|(at, id)| format!("{at}_{id}")),
    })
}

/// A team tab of the inbox.
#[derive(Debug, Clone)]
pub struct TeamTab {
    /// The team.
    pub id: TeamId,
    /// Its name.
    pub name: String,
}

/// Everything the inbox page shows besides its rows.
#[derive(Debug, Clone)]
pub struct Inbox {
    /// The listed page.
    pub listing: Listing,
    /// Figures for the tabs.
    pub counts: QueueCounts,
    /// Whether the caller gets the "All" tab (managers, or agents who may read everything).
    pub all_tab: bool,
    /// The team tabs: every team for managers, else the caller's own.
    pub team_tabs: Vec<TeamTab>,
    /// Active staff, with their availability (shown beside names; the bulk bar's people).
    pub staff: Vec<crate::store::users::User>,
    /// How many of the caller's mentions are not opened yet (the Mentions tab).
    pub mentions_unseen: i64,
}

/// The inbox: one page of `req`, the tab figures and the tabs `actor` gets.
pub fn inbox(conn: &Connection, actor: &Actor, req: ListRequest) -> Result<Inbox> {
    let settings = settings::load_settings(conn)?;
    let counts = queue::queue_counts(
        conn,
        &policy::scope(actor, settings.agent_visibility),
        actor.id,
    )?;
    let listing = list_with(conn, actor, &settings, req)?;
    let manager = actor.is_manager();
    let team_tabs = teams::list_teams(conn)?
        .into_iter()
        .filter(|t| manager || actor.teams.contains(&t.id))
        .map(|t| TeamTab {
            id: t.id,
            name: t.name,
        })
        .collect();
    let staff = crate::store::users::list_users(conn)?
        .into_iter()
        .filter(|u| !u.disabled)
        .collect();
    Ok(Inbox {
        listing,
        counts,
        all_tab: manager || settings.agent_visibility == Visibility::AllReadOnly,
        team_tabs,
        staff,
        mentions_unseen: super::mentions::unseen_count(conn, actor.id)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(
        view: Option<&str>,
        status: Option<&str>,
        before: Option<&str>,
        u: Unknown,
    ) -> ListRequest {
        ListRequest {
            view: view.map(String::from),
            default_view: View::Mine,
            status: status.map(String::from),
            team: None,
            tag: None,
            q: None,
            limit: 50,
            before: before.map(String::from),
            sort: None,
            unknown: u,
        }
    }

    #[test]
    fn each_door_keeps_its_default_and_its_strictness() {
        use Unknown::*;
        type Row<'a> = (
            Option<&'a str>,
            Option<&'a str>,
            Option<&'a str>,
            Unknown,
            Option<View>,
        );
        let table: &[Row] = &[
            (None, None, None, Refuse, Some(View::Mine)),
            (Some(""), None, None, Refuse, Some(View::Mine)),
            (Some("all"), None, None, Refuse, Some(View::All)),
            (Some("bogus"), None, None, Refuse, None),
            (Some("bogus"), None, None, Ignore, Some(View::Mine)),
            (Some("pending"), Some("nope"), None, Refuse, None),
            (
                Some("pending"),
                Some("nope"),
                None,
                Ignore,
                Some(View::Pending),
            ),
            (None, None, Some("12_x"), Refuse, None),
            (None, None, Some("12_x"), Ignore, Some(View::Mine)),
            (None, None, Some("12_3_4"), Refuse, None),
        ];
        for (view, status, before, unknown, want) in table {
            let got = parse(&req(*view, *status, *before, *unknown))
                .ok()
                .map(|p| p.0);
            assert_eq!(got, *want, "{view:?} {status:?} {before:?} {unknown:?}");
        }
    }

    #[test]
    fn status_and_cursor_parse() {
        let (_, s, b, _) =
            parse(&req(None, Some("any"), Some("5_7"), Unknown::Refuse)).expect("ok");
        assert_eq!(s, StatusFilter::Any);
        assert_eq!(b, Some((5, 7)));
        let (_, s, _, _) = parse(&req(None, Some("snoozed"), None, Unknown::Refuse)).expect("ok");
        assert_eq!(s, StatusFilter::Is(Status::Snoozed));
    }

    #[test]
    fn what_people_type_becomes_words_or_a_phone_number() {
        let w = |ws: &[&str]| ws.iter().map(|w| w.to_string()).collect::<Vec<_>>();
        let table: &[(&str, Option<Search>)] = &[
            ("", None),
            ("   ", None),
            (
                "+4915123456789",
                Some(Search {
                    words: w(&["4915123456789"]),
                    phone: Some("4915123456789".into()),
                }),
            ),
            (
                "+49 151 2345 6789",
                Some(Search {
                    words: w(&["49", "151", "2345", "6789"]),
                    phone: Some("4915123456789".into()),
                }),
            ),
            (
                "0049 151-2345 6789",
                Some(Search {
                    words: w(&["0049", "151", "2345", "6789"]),
                    phone: Some("4915123456789".into()),
                }),
            ),
            (
                "0151 2345 6789",
                Some(Search {
                    words: w(&["0151", "2345", "6789"]),
                    phone: Some("15123456789".into()),
                }),
            ),
            (
                "(555) 0001",
                Some(Search {
                    words: w(&["555", "0001"]),
                    phone: Some("5550001".into()),
                }),
            ),
            (
                "555-0001",
                Some(Search {
                    words: w(&["555", "0001"]),
                    phone: Some("5550001".into()),
                }),
            ),
            (
                "42",
                Some(Search {
                    words: w(&["42"]),
                    phone: None,
                }),
            ),
            (
                "order 555",
                Some(Search {
                    words: w(&["order", "555"]),
                    phone: None,
                }),
            ),
            (
                " José  Müller ",
                Some(Search {
                    words: w(&["José", "Müller"]),
                    phone: None,
                }),
            ),
            (
                "مُحَمَّد",
                Some(Search {
                    words: w(&["محمد"]),
                    phone: None,
                }),
            ),
            (
                "Maria🌸",
                Some(Search {
                    words: w(&["Maria🌸"]),
                    phone: None,
                }),
            ),
            (
                "\") NEAR( *",
                Some(Search {
                    words: w(&["NEAR"]),
                    phone: None,
                }),
            ),
            ("!!!", Some(Search::default())),
        ];
        for (typed, want) in table {
            assert_eq!(&search(typed), want, "{typed:?}");
        }
    }

    #[test]
    fn view_names_round_trip() {
        for v in [
            View::Unassigned,
            View::Mine,
            View::Pending,
            View::All,
            View::AtRisk,
        ] {
            assert_eq!(parse_view(view_name(v)), Some(v));
        }
    }
}
