//! Who may do what: the one place where roles, the single-owner rule and the workspace's
//! `agent_visibility` setting are decided. Pages, API, search and live updates all ask here.

use super::events::kind;
use super::{Role, TeamId, UserId, Visibility};

/// The person acting, with what the policy needs to know about them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    /// Who.
    pub id: UserId,
    /// Their role.
    pub role: Role,
    /// Teams they belong to.
    pub teams: Vec<TeamId>,
}

/// Who holds a conversation, and who else was asked in.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Ownership {
    /// The assignee, if any.
    pub assignee: Option<UserId>,
    /// The team, if any.
    pub team: Option<TeamId>,
    /// Whether it is resolved (a mention opens it to its person only while it is not).
    pub resolved: bool,
    /// The people a note of it mentions (`@Ana`, see [`super::mentions`]).
    pub mentioned: Vec<UserId>,
}

impl Ownership {
    /// Held by `assignee` in `team`, unresolved, mentioning nobody.
    pub fn held(assignee: Option<UserId>, team: Option<TeamId>) -> Ownership {
        Ownership {
            assignee,
            team,
            ..Ownership::default()
        }
    }

    /// Whether a note of this unresolved conversation mentions `user`: they may then see it
    /// and write notes on it, whatever `agent_visibility` says (never reply, tag, claim,
    /// assign or change its status unless their role or ownership allows it anyway).
    pub fn mentions(&self, user: UserId) -> bool {
        !self.resolved && self.mentioned.contains(&user)
    }
}

/// Something done to a conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// Read it (detail, timeline, queue).
    View,
    /// Write a private note.
    Note,
    /// Add or remove tags.
    Tag,
    /// Send a customer-visible message.
    Reply,
    /// Take it from the pool.
    Claim,
    /// Assign, transfer or release it.
    Assign,
    /// Change its status.
    SetStatus,
}

impl Action {
    /// Every action, for exhaustive tests.
    pub const ALL: &'static [Action] = &[
        Action::View,
        Action::Note,
        Action::Tag,
        Action::Reply,
        Action::Claim,
        Action::Assign,
        Action::SetStatus,
    ];
}

/// Why an action is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Denied {
    /// The actor may not see the conversation: answer as if it did not exist.
    NotVisible,
    /// The actor sees it but their role does not allow this.
    Forbidden,
    /// Only the assignee may do this; `owner` holds it (or nobody does).
    NotOwner {
        /// The current assignee.
        owner: Option<UserId>,
    },
    /// Someone else already holds it.
    AlreadyAssigned {
        /// The current assignee.
        owner: UserId,
    },
}

impl Actor {
    /// Owners and managers see and manage every conversation.
    pub fn is_manager(&self) -> bool {
        matches!(self.role, Role::Owner | Role::Manager)
    }

    /// Whether the conversation's team puts it in this actor's pool.
    fn in_pool_scope(&self, visibility: Visibility, team: Option<TeamId>) -> bool {
        self.is_manager()
            || (visibility != Visibility::Own && team.is_none_or(|t| self.teams.contains(&t)))
    }
}

/// Whether `actor` may see a conversation held as `conv`: by role, ownership and
/// `agent_visibility`, or because a note of it mentions them while it is unresolved.
pub fn can_see(actor: &Actor, visibility: Visibility, conv: &Ownership) -> bool {
    sees_by_role(actor, visibility, conv) || conv.mentions(actor.id)
}

/// [`can_see`] without mentions: what role, ownership and the setting allow.
fn sees_by_role(actor: &Actor, visibility: Visibility, conv: &Ownership) -> bool {
    if actor.is_manager() || conv.assignee == Some(actor.id) {
        return true;
    }
    match visibility {
        Visibility::Own => false,
        Visibility::OwnAndPool => {
            conv.assignee.is_none() && actor.in_pool_scope(visibility, conv.team)
        }
        Visibility::AllReadOnly => true,
    }
}

/// The set of conversations an actor may see, for queries that list many at once. It says the
/// same as [`can_see`], in a form the store turns into a query. The two narrower scopes also
/// hold the unresolved conversations that mention their user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// Every conversation.
    All,
    /// Those assigned to this user (or mentioning them, unresolved).
    AssignedTo(UserId),
    /// Those assigned to this user, and unassigned ones with no team or one of these teams (or
    /// mentioning the user, unresolved).
    AssignedToOrPool {
        /// The user.
        user: UserId,
        /// Their teams.
        teams: Vec<TeamId>,
    },
}

impl Scope {
    /// Whether a conversation held as `conv` is in the scope.
    pub fn contains(&self, conv: &Ownership) -> bool {
        match self {
            Scope::All => true,
            Scope::AssignedTo(u) => conv.assignee == Some(*u) || conv.mentions(*u),
            Scope::AssignedToOrPool { user, teams } => {
                conv.assignee == Some(*user)
                    || conv.mentions(*user)
                    || (conv.assignee.is_none() && conv.team.is_none_or(|t| teams.contains(&t)))
            }
        }
    }
}

/// What `actor` may see, as a [`Scope`].
pub fn scope(actor: &Actor, visibility: Visibility) -> Scope {
    if actor.is_manager() {
        return Scope::All;
    }
    match visibility {
        Visibility::Own => Scope::AssignedTo(actor.id),
        Visibility::OwnAndPool => Scope::AssignedToOrPool {
            user: actor.id,
            teams: actor.teams.clone(),
        },
        Visibility::AllReadOnly => Scope::All,
    }
}

/// Decides whether `actor` may do `action` on a conversation held as `conv`.
pub fn check(
    actor: &Actor,
    visibility: Visibility,
    action: Action,
    conv: &Ownership,
) -> Result<(), Denied> {
    let visible = can_see(actor, visibility, conv);
    let mine = conv.assignee == Some(actor.id);
    match action {
        Action::View | Action::Note => visible.then_some(()).ok_or(Denied::NotVisible),
        // A mention lets its person read and write notes, not tag.
        Action::Tag if !visible => Err(Denied::NotVisible),
        Action::Tag if sees_by_role(actor, visibility, conv) => Ok(()),
        Action::Tag => Err(Denied::Forbidden),
        Action::Reply => {
            if !visible {
                Err(Denied::NotVisible)
            } else if mine {
                Ok(())
            } else {
                Err(Denied::NotOwner {
                    owner: conv.assignee,
                })
            }
        }
        Action::Claim => match conv.assignee {
            Some(_) if mine => Ok(()),
            // The loser of a race learns who won, rather than seeing the conversation vanish.
            Some(owner) if visible || actor.in_pool_scope(visibility, conv.team) => {
                Err(Denied::AlreadyAssigned { owner })
            }
            Some(_) => Err(Denied::NotVisible),
            None if !visible => Err(Denied::NotVisible),
            None if actor.in_pool_scope(visibility, conv.team) => Ok(()),
            None => Err(Denied::Forbidden),
        },
        Action::Assign | Action::SetStatus => {
            if !visible {
                Err(Denied::NotVisible)
            } else if mine || actor.is_manager() {
                Ok(())
            } else {
                Err(Denied::Forbidden)
            }
        }
    }
}

/// What the live stream needs to know about an event to decide who receives it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventFacts<'a> {
    /// Its kind.
    pub kind: &'a str,
    /// Who holds its conversation now; `None` for an event about no conversation.
    pub ownership: Option<&'a Ownership>,
    /// Who did it.
    pub actor: Option<UserId>,
    /// The user its data names as `from` (the previous assignee of a handoff).
    pub from: Option<UserId>,
    /// The user its data names as `user` (user-level events).
    pub user: Option<UserId>,
}

/// Whether `viewer` receives an event. A conversation's events go to whoever may see the
/// conversation now, and also to whoever did it or just handed it on (so they learn that it left
/// them). Events about no conversation: availability (`user.status`) goes to everyone, the rest
/// (settings, users, channels, contacts) to owners and managers and to the user they name.
pub fn can_see_event(viewer: &Actor, visibility: Visibility, e: &EventFacts<'_>) -> bool {
    match e.ownership {
        Some(o) => {
            can_see(viewer, visibility, o)
                || e.actor == Some(viewer.id)
                || e.from == Some(viewer.id)
        }
        None => e.kind == kind::USER_STATUS || viewer.is_manager() || e.user == Some(viewer.id),
    }
}

/// Workspace-level capabilities that do not concern one conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Capability {
    /// Create users, change roles, disable, reset passwords.
    ManageUsers,
    /// Create and change teams and their members.
    ManageTeams,
    /// Create and configure channels.
    ManageChannels,
    /// Change any workspace setting.
    ManageSettings,
    /// Change routing and SLA settings only.
    ManageRoutingSettings,
    /// Hand off someone else's conversations.
    HandOffOthers,
    /// See reports.
    SeeReports,
}

/// Whether `role` has `cap`.
pub fn allows(role: Role, cap: Capability) -> bool {
    use Capability::*;
    match role {
        Role::Owner => true,
        Role::Manager => matches!(
            cap,
            ManageTeams | ManageRoutingSettings | HandOffOthers | SeeReports
        ),
        Role::Agent => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ME: UserId = UserId(1);
    const OTHER: UserId = UserId(2);
    const MY_TEAM: TeamId = TeamId(10);
    const OTHER_TEAM: TeamId = TeamId(20);

    fn actor(role: Role) -> Actor {
        Actor {
            id: ME,
            role,
            teams: vec![MY_TEAM],
        }
    }

    #[derive(Clone, Copy, Debug)]
    enum Held {
        Own,
        Other,
        Unassigned,
        UnassignedOtherTeam,
    }

    fn conv(h: Held) -> Ownership {
        match h {
            Held::Own => Ownership::held(Some(ME), Some(OTHER_TEAM)),
            Held::Other => Ownership::held(Some(OTHER), Some(MY_TEAM)),
            Held::Unassigned => Ownership::held(None, Some(MY_TEAM)),
            Held::UnassignedOtherTeam => Ownership::held(None, Some(OTHER_TEAM)),
        }
    }

    /// Expected outcome, short: ok, 404, 403, 409 (not owner), 409 (already assigned).
    #[derive(Debug, PartialEq, Clone, Copy)]
    enum E {
        Ok,
        Hidden,
        Forbid,
        NotOwner,
        Taken,
    }

    fn short(r: Result<(), Denied>) -> E {
        match r {
            Ok(()) => E::Ok,
            Err(Denied::NotVisible) => E::Hidden,
            Err(Denied::Forbidden) => E::Forbid,
            Err(Denied::NotOwner { .. }) => E::NotOwner,
            Err(Denied::AlreadyAssigned { .. }) => E::Taken,
        }
    }

    /// Expected result for (role, visibility, held, action). The table is the specification:
    /// every role × visibility × holding × action is listed and compared.
    fn expected(role: Role, vis: Visibility, held: Held, action: Action) -> E {
        use Action::*;
        use E::*;
        let manager = role != Role::Agent;
        match held {
            Held::Own => match action {
                View | Note | Tag | Reply | Claim | Assign | SetStatus => Ok,
            },
            Held::Other => match (manager, vis, action) {
                (true, _, View | Note | Tag | Assign | SetStatus) => Ok,
                (true, _, Reply) => NotOwner,
                (true, _, Claim) => Taken,
                (false, Visibility::AllReadOnly, View | Note | Tag) => Ok,
                (false, Visibility::AllReadOnly, Reply) => NotOwner,
                (false, Visibility::AllReadOnly, Claim) => Taken,
                (false, Visibility::AllReadOnly, Assign | SetStatus) => Forbid,
                // In the agent's pool scope (team), so a lost claim race says who won.
                (false, Visibility::OwnAndPool, Claim) => Taken,
                (false, _, _) => Hidden,
            },
            Held::Unassigned => match (manager, vis, action) {
                (true, _, Reply) => NotOwner,
                (true, _, _) => Ok,
                (false, Visibility::Own, _) => Hidden,
                (false, _, View | Note | Tag | Claim) => Ok,
                (false, _, Reply) => NotOwner,
                (false, _, Assign | SetStatus) => Forbid,
            },
            Held::UnassignedOtherTeam => match (manager, vis, action) {
                (true, _, Reply) => NotOwner,
                (true, _, _) => Ok,
                (false, Visibility::AllReadOnly, View | Note | Tag) => Ok,
                (false, Visibility::AllReadOnly, Reply) => NotOwner,
                (false, Visibility::AllReadOnly, Claim | Assign | SetStatus) => Forbid,
                (false, _, _) => Hidden,
            },
        }
    }

    /// Every way a conversation can be held, seen from the actor.
    const HELD: [Held; 4] = [
        Held::Own,
        Held::Other,
        Held::Unassigned,
        Held::UnassignedOtherTeam,
    ];

    #[test]
    fn policy_table() {
        let mut checked = 0;
        for role in Role::ALL {
            for vis in Visibility::ALL {
                for held in HELD {
                    for action in Action::ALL {
                        let got = short(check(&actor(*role), *vis, *action, &conv(held)));
                        let want = expected(*role, *vis, held, *action);
                        assert_eq!(got, want, "{role} {vis} {held:?} {action:?}");
                        checked += 1;
                    }
                }
            }
        }
        assert_eq!(checked, 3 * 3 * 4 * 7);
    }

    #[test]
    fn unassigned_without_team_is_everyones_pool() {
        let agent = actor(Role::Agent);
        let c = Ownership::held(None, None);
        assert!(can_see(&agent, Visibility::OwnAndPool, &c));
        assert!(!can_see(&agent, Visibility::Own, &c));
        assert_eq!(
            check(&agent, Visibility::OwnAndPool, Action::Claim, &c),
            Ok(())
        );
    }

    #[test]
    fn scope_agrees_with_can_see() {
        for role in Role::ALL {
            for vis in Visibility::ALL {
                for held in HELD {
                    let a = actor(*role);
                    let c = conv(held);
                    assert_eq!(
                        scope(&a, *vis).contains(&c),
                        can_see(&a, *vis, &c),
                        "{role} {vis} {held:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn capabilities() {
        assert!(allows(Role::Owner, Capability::ManageUsers));
        assert!(!allows(Role::Manager, Capability::ManageUsers));
        assert!(allows(Role::Manager, Capability::ManageTeams));
        assert!(!allows(Role::Manager, Capability::ManageChannels));
        assert!(!allows(Role::Agent, Capability::ManageTeams));
        assert!(!allows(Role::Agent, Capability::SeeReports));
    }

    #[test]
    fn who_receives_an_event() {
        let visibility = Visibility::Own;
        let (own, other) = (conv(Held::Own), conv(Held::Other));
        fn about(ownership: Option<&Ownership>) -> EventFacts<'_> {
            EventFacts {
                kind: kind::CONVERSATION_STATUS,
                ownership,
                actor: None,
                from: None,
                user: None,
            }
        }
        let held_by_other = Some(&other);
        // (case, viewer role, facts, receives)
        let table: Vec<(&str, Role, EventFacts<'_>, bool)> = vec![
            ("my conversation", Role::Agent, about(Some(&own)), true),
            ("someone else's", Role::Agent, about(held_by_other), false),
            (
                "someone else's, manager",
                Role::Manager,
                about(held_by_other),
                true,
            ),
            (
                "someone else's, but I did it",
                Role::Agent,
                EventFacts {
                    actor: Some(ME),
                    ..about(held_by_other)
                },
                true,
            ),
            (
                "handed on from me",
                Role::Agent,
                EventFacts {
                    kind: kind::CONVERSATION_ASSIGNED,
                    from: Some(ME),
                    ..about(held_by_other)
                },
                true,
            ),
            (
                "handed on from someone else",
                Role::Agent,
                EventFacts {
                    kind: kind::CONVERSATION_ASSIGNED,
                    from: Some(OTHER),
                    actor: Some(OTHER),
                    ..about(held_by_other)
                },
                false,
            ),
            (
                "a user.status, agent",
                Role::Agent,
                EventFacts {
                    kind: kind::USER_STATUS,
                    user: Some(OTHER),
                    ..about(None)
                },
                true,
            ),
            (
                "settings, agent",
                Role::Agent,
                EventFacts {
                    kind: kind::SETTINGS_UPDATED,
                    actor: Some(OTHER),
                    ..about(None)
                },
                false,
            ),
            (
                "settings, manager",
                Role::Manager,
                EventFacts {
                    kind: kind::SETTINGS_UPDATED,
                    ..about(None)
                },
                true,
            ),
            (
                "someone else updated, agent",
                Role::Agent,
                EventFacts {
                    kind: kind::USER_UPDATED,
                    user: Some(OTHER),
                    ..about(None)
                },
                false,
            ),
            (
                "I was updated, agent",
                Role::Agent,
                EventFacts {
                    kind: kind::USER_UPDATED,
                    user: Some(ME),
                    ..about(None)
                },
                true,
            ),
            (
                "a channel alert, owner",
                Role::Owner,
                EventFacts {
                    kind: kind::CHANNEL_ALERT,
                    ..about(None)
                },
                true,
            ),
        ];
        for (case, role, facts, receives) in table {
            assert_eq!(
                can_see_event(&actor(role), visibility, &facts),
                receives,
                "{case}"
            );
        }
    }
}
