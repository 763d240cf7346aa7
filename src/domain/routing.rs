//! Routing: which rule sorts a new or reopened conversation (team, tags, priority) and which agent
//! of a team receives it (round robin, least loaded within capacity, the returning customer's
//! last owner). Pure decisions over facts the service loads; the contract is `shared/API.md`
//! ("routing rule", "Re-offer", `sticky_owner`).

use serde::{Deserialize, Serialize};

use super::{Assignment, ChannelId, Priority, TeamId, UserId, UserStatus};

/// What a rule looks at; every condition given must hold (an empty set matches everything).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Conditions {
    /// Only conversations on this channel.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel_id: Option<i64>,
    /// Any of these words or phrases in the first message, case-insensitive, whole words.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keywords: Option<Vec<String>>,
    /// The contact carries this tag.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact_tag: Option<String>,
    /// Inside or outside the shop's business hours when the message arrived.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub business_hours: Option<HoursCondition>,
}

/// `"inside"` or `"outside"` business hours.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HoursCondition {
    /// The shop is open.
    Inside,
    /// The shop is closed (or it is a holiday).
    Outside,
}

/// What a matching rule does.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Actions {
    /// Put the conversation in this team's pool.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team_id: Option<i64>,
    /// Add these tags.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<String>>,
    /// Set this priority.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<Priority>,
}

/// One routing rule as stored and shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rule {
    /// Its id.
    pub id: i64,
    /// Lower runs first.
    pub position: i64,
    /// When it applies.
    pub conditions: Conditions,
    /// What it does.
    pub actions: Actions,
}

/// The facts a rule is judged on.
#[derive(Debug, Clone)]
pub struct Arrival<'a> {
    /// The conversation's channel.
    pub channel: ChannelId,
    /// The text of the first message of the cycle (empty for media without caption).
    pub first_message: &'a str,
    /// The contact's tags.
    pub contact_tags: &'a [String],
    /// Whether the shop was open when the message arrived.
    pub inside_hours: bool,
}

/// The words of `text`, lower-cased: runs of letters, digits and marks (so Arabic, accents and
/// emoji-free words all count; punctuation separates).
fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !(c.is_alphanumeric() || is_mark(c)))
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect()
}

/// Combining marks (Arabic harakat, accents typed as combining characters) belong to their word.
fn is_mark(c: char) -> bool {
    matches!(c as u32, 0x0300..=0x036F | 0x0610..=0x061A | 0x064B..=0x065F | 0x0670 | 0x06D6..=0x06ED)
}

/// Whether `keyword` (a word or a phrase) occurs in `text` as whole words, ignoring case.
pub fn has_keyword(text: &[String], keyword: &str) -> bool {
    let k = words(keyword);
    !k.is_empty() && text.windows(k.len()).any(|w| w == k.as_slice())
}

impl Conditions {
    /// Whether every given condition holds for `a`.
    pub fn matches(&self, a: &Arrival<'_>) -> bool {
        if self.channel_id.is_some_and(|c| c != a.channel.0) {
            return false;
        }
        if let Some(keywords) = &self.keywords {
            let text = words(a.first_message);
            if !keywords.iter().any(|k| has_keyword(&text, k)) {
                return false;
            }
        }
        if let Some(tag) = &self.contact_tag
            && !a
                .contact_tags
                .iter()
                .any(|t| t.to_lowercase() == tag.to_lowercase())
        {
            return false;
        }
        match self.business_hours {
            Some(HoursCondition::Inside) if !a.inside_hours => false,
            Some(HoursCondition::Outside) if a.inside_hours => false,
            _ => true,
        }
    }
}

/// The first rule (by position, then id) whose conditions hold.
pub fn first_match<'r>(rules: &'r [Rule], a: &Arrival<'_>) -> Option<&'r Rule> {
    let mut sorted: Vec<&Rule> = rules.iter().collect();
    sorted.sort_by_key(|r| (r.position, r.id));
    sorted.into_iter().find(|r| r.conditions.matches(a))
}

/// A member of the team that may receive a conversation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    /// Who.
    pub user: UserId,
    /// Their availability; only `available` people receive routed conversations.
    pub status: UserStatus,
    /// Unresolved conversations they own now.
    pub open: i64,
    /// The most they may own at once (`None` = no limit).
    pub capacity: Option<i64>,
    /// When routing last gave them a conversation (UTC ms), for round robin.
    pub last_routed_at: Option<i64>,
}

impl Candidate {
    /// Available and below capacity.
    pub fn can_take(&self) -> bool {
        self.status == UserStatus::Available && self.capacity.is_none_or(|c| self.open < c)
    }
}

/// Who receives a conversation, or `None` (it waits in the pool).
///
/// - `sticky`: the returning customer's last owner gets it first if they can take it (setting
///   `sticky_owner`), whatever the mode.
/// - Manual: nobody (people claim).
/// - Round robin: whoever routing served longest ago (never-served first), ties by id — the
///   turn is kept in the database as `last_routed_at`, so it survives restarts.
/// - Least loaded: fewest open conversations, then round robin among equals.
pub fn choose(
    mode: Assignment,
    candidates: &[Candidate],
    sticky: Option<UserId>,
) -> Option<UserId> {
    if let Some(s) = sticky
        && candidates.iter().any(|c| c.user == s && c.can_take())
    {
        return Some(s);
    }
    let able = candidates.iter().filter(|c| c.can_take());
    let turn = |c: &&Candidate| (c.last_routed_at.unwrap_or(i64::MIN), c.user.0);
    match mode {
        Assignment::Manual => None,
        Assignment::RoundRobin => able.min_by_key(turn).map(|c| c.user),
        Assignment::LeastLoaded => able.min_by_key(|c| (c.open, turn(c))).map(|c| c.user),
    }
}

/// Which team a conversation lands in: a rule's team, else the channel's default team, else
/// none (the general pool).
pub fn team_for(rule: Option<&Rule>, channel_default: Option<TeamId>) -> Option<TeamId> {
    rule.and_then(|r| r.actions.team_id)
        .map(TeamId)
        .or(channel_default)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cand(
        id: i64,
        status: UserStatus,
        open: i64,
        capacity: Option<i64>,
        last: Option<i64>,
    ) -> Candidate {
        Candidate {
            user: UserId(id),
            status,
            open,
            capacity,
            last_routed_at: last,
        }
    }

    #[test]
    fn keywords_are_whole_words_any_case_any_script() {
        for (text, keyword, want) in [
            ("I want to BUY a phone", "buy", true),
            ("buyer here", "buy", false),
            ("Hi, this is Ana", "hi", true),
            ("this is it", "hi", false),
            ("Quero fazer uma encomenda!", "encomenda", true),
            ("price list please", "price list", true),
            ("list price please", "price list", false),
            ("مرحبا، أريد الشراء", "الشراء", true),
            ("Größe 42?", "größe", true),
            ("anything", "", false),
            ("refund?!", "refund", true),
        ] {
            assert_eq!(
                has_keyword(&words(text), keyword),
                want,
                "{text:?} / {keyword:?}"
            );
        }
    }

    #[test]
    fn the_first_matching_rule_by_position_wins() {
        let rule = |id, position, conditions: Conditions, team| Rule {
            id,
            position,
            conditions,
            actions: Actions {
                team_id: Some(team),
                ..Actions::default()
            },
        };
        let rules = vec![
            rule(1, 20, Conditions::default(), 100),
            rule(
                2,
                10,
                Conditions {
                    keywords: Some(vec!["refund".into(), "broken".into()]),
                    ..Default::default()
                },
                200,
            ),
            rule(
                3,
                5,
                Conditions {
                    channel_id: Some(9),
                    ..Default::default()
                },
                300,
            ),
            rule(
                4,
                1,
                Conditions {
                    business_hours: Some(HoursCondition::Outside),
                    contact_tag: Some("VIP".into()),
                    ..Default::default()
                },
                400,
            ),
        ];
        let tags_vip = vec!["vip".to_string()];
        // (what, channel, message, tags, inside hours, team)
        let none: &[String] = &[];
        let cases = [
            ("catch-all", 1, "hello", none, true, 100),
            ("keyword", 1, "It arrived BROKEN", none, true, 200),
            (
                "channel before keyword",
                9,
                "refund please",
                none,
                true,
                300,
            ),
            ("vip at night", 1, "refund", &tags_vip[..], false, 400),
            (
                "vip by day falls through",
                1,
                "refund",
                &tags_vip,
                true,
                200,
            ),
            ("night without tag", 1, "hello", none, false, 100),
        ];
        for (what, channel, msg, tags, inside, team) in cases {
            let a = Arrival {
                channel: ChannelId(channel),
                first_message: msg,
                contact_tags: tags,
                inside_hours: inside,
            };
            let got = first_match(&rules, &a).and_then(|r| r.actions.team_id);
            assert_eq!(got, Some(team), "{what}");
        }
        assert!(
            first_match(
                &rules[1..2],
                &Arrival {
                    channel: ChannelId(1),
                    first_message: "hi",
                    contact_tags: &[],
                    inside_hours: true
                }
            )
            .is_none()
        );
    }

    #[test]
    fn who_receives_it() {
        use UserStatus::*;
        let team = vec![
            cand(1, Available, 3, Some(3), Some(10)), // full
            cand(2, Available, 1, None, Some(30)),
            cand(3, Busy, 0, None, None),
            cand(4, Available, 2, Some(5), Some(20)),
            cand(5, Offline, 0, None, None),
        ];
        // (what, mode, sticky, expected)
        let cases = [
            (
                "manual leaves it in the pool",
                Assignment::Manual,
                None,
                None,
            ),
            (
                "round robin: served longest ago, skipping the full one",
                Assignment::RoundRobin,
                None,
                Some(4),
            ),
            (
                "least loaded: fewest open",
                Assignment::LeastLoaded,
                None,
                Some(2),
            ),
            (
                "sticky owner if able",
                Assignment::LeastLoaded,
                Some(4),
                Some(4),
            ),
            (
                "sticky even in manual",
                Assignment::Manual,
                Some(2),
                Some(2),
            ),
            (
                "sticky owner busy: the mode decides",
                Assignment::RoundRobin,
                Some(3),
                Some(4),
            ),
            (
                "sticky owner full: the mode decides",
                Assignment::LeastLoaded,
                Some(1),
                Some(2),
            ),
        ];
        for (what, mode, sticky, want) in cases {
            assert_eq!(
                choose(mode, &team, sticky.map(UserId)),
                want.map(UserId),
                "{what}"
            );
        }
        assert_eq!(
            choose(
                Assignment::RoundRobin,
                &[cand(3, Busy, 0, None, None)],
                None
            ),
            None,
            "nobody available"
        );
    }

    #[test]
    fn round_robin_and_least_loaded_spread_a_hundred_conversations() {
        for mode in [Assignment::RoundRobin, Assignment::LeastLoaded] {
            let mut team = vec![
                cand(1, UserStatus::Available, 0, None, None),
                cand(2, UserStatus::Available, 0, Some(20), None),
                cand(3, UserStatus::Available, 0, None, None),
                cand(4, UserStatus::Busy, 0, None, None),
            ];
            let mut waiting = 0;
            for t in 0..100 {
                match choose(mode, &team, None) {
                    Some(u) => {
                        let c = team.iter_mut().find(|c| c.user == u).expect("a member");
                        c.open += 1;
                        c.last_routed_at = Some(t);
                    }
                    None => waiting += 1,
                }
            }
            let open: Vec<i64> = team.iter().map(|c| c.open).collect();
            assert_eq!(
                open,
                vec![40, 20, 40, 0],
                "{mode:?}: capacity 20 respected, busy skipped"
            );
            assert_eq!(waiting, 0, "{mode:?}");
        }
    }
}
