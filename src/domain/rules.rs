//! Who may act on whom: DESIGN's table "Who may act on whom", as code you can read in one
//! screen. Every door (the screens, the CLI, and later SCIM and the API) asks `may` before an
//! operation changes anything; nothing else states these rules.

use super::{Permission, PermissionSet};

/// A person as the rules see them: the actor, or the user acted on.
#[derive(Debug, Clone, Copy)]
pub struct Person<'a> {
    pub id: i64,
    pub is_owner: bool,
    pub permissions: &'a PermissionSet,
}

impl Person<'_> {
    /// An administrator holds every permission of the catalogue.
    pub fn is_admin(&self) -> bool {
        self.permissions.is_admin()
    }
}

/// What an actor wants to do to a user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action<'a> {
    /// See them in the list, on their page, in an export.
    See,
    EditInfo,
    ChangeEmail,
    SendPasswordReset,
    ResendInvite,
    EndSessions,
    /// Turn off their two-step sign-in (when they lost their phone and their recovery codes).
    ResetSecondFactor,
    /// Grant or revoke a building or account (the building's own reach is `may_grant`).
    ChangeAccess,
    /// Put them into a group holding these permissions.
    ChangeGroup(&'a PermissionSet),
    Disable,
    Enable,
    Delete,
    Restore,
    Impersonate,
}

/// Why the rules refuse; each says so in words a person can act on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The actor's group lacks the permission the action needs.
    MissingPermission(Permission),
    /// Your own group, status, reach and email are not changed from the Users tab.
    OwnAccount,
    /// Nobody disables, deletes, demotes or signs in as the owner.
    TheOwner,
    /// Only the owner changes the owner's details.
    OwnerOnlyForOwner,
    /// Only the owner acts on an administrator.
    OwnerOnlyForAdministrator,
    /// Nobody signs in as an administrator.
    ImpersonateAdministrator,
    /// The user holds permissions the actor does not.
    AboveReach,
    /// The group grants permissions the actor does not hold.
    GroupAboveReach,
    /// Only the owner makes (or unmakes) administrators.
    MakesAdministrator,
    /// The actor does not reach that building or every building of that account.
    BuildingOutOfReach,
    /// Built-in groups keep their name and permissions.
    BuiltinGroup,
    /// The group's members include the actor.
    OwnGroup,
}

impl Refusal {
    pub fn message(self) -> &'static str {
        match self {
            Refusal::MissingPermission(_) => "Your group does not allow this.",
            Refusal::OwnAccount => {
                "This is your own account: change your details on My Profile; your group, status and buildings are changed by someone else."
            }
            Refusal::TheOwner => "No one can disable, delete, demote or sign in as the owner.",
            Refusal::OwnerOnlyForOwner => "Only the owner can change the owner's account.",
            Refusal::OwnerOnlyForAdministrator => "Only the owner can change another administrator.",
            Refusal::ImpersonateAdministrator => "No one can sign in as an administrator.",
            Refusal::AboveReach => "This user holds permissions you don't have, so you can't change them.",
            Refusal::GroupAboveReach => "This group grants permissions you don't have.",
            Refusal::MakesAdministrator => "Only the owner can make someone an administrator or change one's group.",
            Refusal::BuildingOutOfReach => "You can only grant and revoke buildings you reach yourself.",
            Refusal::BuiltinGroup => "Built-in groups keep their name and permissions. Make a custom group instead.",
            Refusal::OwnGroup => {
                "You can't change your own group: its permissions and sign-in rules are set by someone else."
            }
        }
    }
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.message())
    }
}

fn need(actor: &Person<'_>, p: Permission) -> Result<(), Refusal> {
    if actor.permissions.has(p) { Ok(()) } else { Err(Refusal::MissingPermission(p)) }
}

/// Whether `actor` may do `action` to `target`.
pub fn may(actor: &Person<'_>, action: Action<'_>, target: &Person<'_>) -> Result<(), Refusal> {
    use Action::*;
    let own = actor.id == target.id;
    match action {
        See => {
            if !own {
                need(actor, Permission::UsersView)?;
            }
            Ok(())
        }
        // Row 2: T ≠ owner (unless A is the owner), P(T) ⊆ P(A), T not an administrator unless
        // A is the owner. One's own account is changed on My Profile, with its password.
        EditInfo | ChangeEmail | SendPasswordReset | ResendInvite | EndSessions | ResetSecondFactor | ChangeAccess => {
            need(
                actor,
                match action {
                    SendPasswordReset => Permission::UsersResetPassword,
                    ResendInvite => Permission::InvitesSend,
                    _ => Permission::UsersManage,
                },
            )?;
            if own {
                return Err(Refusal::OwnAccount);
            }
            within_reach(actor, target)
        }
        ChangeGroup(group) => {
            not_oneself_nor_the_owner(actor, target, Permission::UsersManage)?;
            if !actor.permissions.covers(group) {
                return Err(Refusal::GroupAboveReach);
            }
            if (target.is_admin() || group.is_admin()) && !actor.is_owner {
                return Err(Refusal::MakesAdministrator);
            }
            Ok(())
        }
        Disable | Enable | Delete | Restore => {
            not_oneself_nor_the_owner(actor, target, Permission::UsersManage)?;
            if target.is_admin() && !actor.is_owner {
                return Err(Refusal::OwnerOnlyForAdministrator);
            }
            Ok(())
        }
        Impersonate => {
            not_oneself_nor_the_owner(actor, target, Permission::UsersImpersonate)?;
            if target.is_admin() {
                return Err(Refusal::ImpersonateAdministrator);
            }
            Ok(())
        }
    }
}

/// Rows 4 to 6 begin alike: the permission, never oneself, never the owner, and only a user
/// within the actor's permissions.
fn not_oneself_nor_the_owner(actor: &Person<'_>, target: &Person<'_>, permission: Permission) -> Result<(), Refusal> {
    need(actor, permission)?;
    if actor.id == target.id {
        return Err(Refusal::OwnAccount);
    }
    if target.is_owner {
        return Err(Refusal::TheOwner);
    }
    if !actor.permissions.covers(target.permissions) {
        return Err(Refusal::AboveReach);
    }
    Ok(())
}

fn within_reach(actor: &Person<'_>, target: &Person<'_>) -> Result<(), Refusal> {
    if target.is_owner && !actor.is_owner {
        return Err(Refusal::OwnerOnlyForOwner);
    }
    if !actor.permissions.covers(target.permissions) {
        return Err(Refusal::AboveReach);
    }
    if target.is_admin() && !actor.is_owner {
        return Err(Refusal::OwnerOnlyForAdministrator);
    }
    Ok(())
}

/// Whether `actor` may hand out a group holding `group` to a new user (Add New User, import,
/// an invitation): within their own permissions, and only the owner makes administrators.
pub fn may_assign(actor: &Person<'_>, group: &PermissionSet) -> Result<(), Refusal> {
    if !actor.permissions.covers(group) {
        return Err(Refusal::GroupAboveReach);
    }
    if group.is_admin() && !actor.is_owner {
        return Err(Refusal::MakesAdministrator);
    }
    Ok(())
}

/// Whether `actor` may grant or revoke a building or account of `target`'s: `may(ChangeAccess)`
/// and the actor itself reaches it (`reaches` answers that from the database).
pub fn may_grant(actor: &Person<'_>, target: &Person<'_>, reaches: bool) -> Result<(), Refusal> {
    may(actor, Action::ChangeAccess, target)?;
    if !reaches && !actor.permissions.has(Permission::BuildingsViewAll) {
        return Err(Refusal::BuildingOutOfReach);
    }
    Ok(())
}

/// Whether `actor` may create (`before` = None) or change a custom group's permissions from
/// `before` to `after`, where `members` are the people in it. Editing a group is acting on
/// every member of it.
pub fn may_edit_group(
    actor: &Person<'_>,
    builtin: bool,
    before: Option<&PermissionSet>,
    after: &PermissionSet,
    members: &[Person<'_>],
) -> Result<(), Refusal> {
    need(actor, Permission::GroupsManage)?;
    if builtin {
        return Err(Refusal::BuiltinGroup);
    }
    for set in before.into_iter().chain([after]) {
        if !actor.permissions.covers(set) {
            return Err(Refusal::GroupAboveReach);
        }
        if set.is_admin() && !actor.is_owner {
            return Err(Refusal::MakesAdministrator);
        }
    }
    for member in members {
        if member.id == actor.id {
            return Err(Refusal::OwnGroup);
        }
        if member.is_owner && !actor.is_owner {
            return Err(Refusal::OwnerOnlyForOwner);
        }
    }
    Ok(())
}

/// Whether `actor` may require two-step sign-in of a group's members (or stop): acting on each
/// of them, as editing the group is, but built-in groups too (no permission changes). The owner
/// may, for any group; others not for their own group, the owner's, or an administrators' group.
pub fn may_require_two_step(actor: &Person<'_>, group: &PermissionSet, members: &[Person<'_>]) -> Result<(), Refusal> {
    need(actor, Permission::GroupsManage)?;
    if !actor.permissions.covers(group) {
        return Err(Refusal::GroupAboveReach);
    }
    if actor.is_owner {
        return Ok(());
    }
    if group.is_admin() {
        return Err(Refusal::OwnerOnlyForAdministrator);
    }
    for member in members {
        if member.id == actor.id {
            return Err(Refusal::OwnGroup);
        }
        if member.is_owner {
            return Err(Refusal::OwnerOnlyForOwner);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use Action::*;

    fn set(keys: &[&str]) -> PermissionSet {
        PermissionSet::from_keys(keys.iter().copied())
    }

    const STATUS: [Action<'static>; 4] = [Disable, Enable, Delete, Restore];

    #[test]
    fn nobody_disables_deletes_demotes_or_impersonates_the_owner() {
        let all = PermissionSet::all();
        let none = PermissionSet::default();
        let admin = Person { id: 2, is_owner: false, permissions: &all };
        let owner = Person { id: 1, is_owner: true, permissions: &all };
        for action in STATUS.into_iter().chain([ChangeGroup(&none), Impersonate, EditInfo, ChangeEmail]) {
            assert!(may(&admin, action, &owner).is_err(), "{action:?}");
        }
    }

    #[test]
    fn only_the_owner_acts_on_another_administrator() {
        let all = PermissionSet::all();
        let none = PermissionSet::default();
        let owner = Person { id: 1, is_owner: true, permissions: &all };
        let admin = Person { id: 2, is_owner: false, permissions: &all };
        let other = Person { id: 3, is_owner: false, permissions: &all };
        let row2 = [EditInfo, ChangeEmail, SendPasswordReset, ResendInvite, EndSessions, ChangeAccess];
        for action in STATUS.into_iter().chain(row2).chain([ChangeGroup(&none)]) {
            assert!(may(&owner, action, &other).is_ok(), "{action:?}");
            assert!(may(&admin, action, &other).is_err(), "{action:?}");
        }
        assert_eq!(may(&owner, Impersonate, &other), Err(Refusal::ImpersonateAdministrator));
    }

    #[test]
    fn nobody_changes_their_own_group_status_email_or_reach_here() {
        let all = PermissionSet::all();
        let none = PermissionSet::default();
        let me = Person { id: 1, is_owner: true, permissions: &all };
        for action in STATUS.into_iter().chain([ChangeGroup(&none), ChangeAccess, ChangeEmail, EditInfo, Impersonate]) {
            assert_eq!(may(&me, action, &me), Err(Refusal::OwnAccount), "{action:?}");
        }
        assert!(may(&me, See, &me).is_ok());
    }

    #[test]
    fn a_user_above_the_actors_reach_is_refused() {
        let manager = set(&["users.view", "users.manage"]);
        let support = set(&["users.view", "invites.send"]);
        let none = PermissionSet::default();
        let actor = Person { id: 1, is_owner: false, permissions: &manager };
        let above = Person { id: 2, is_owner: false, permissions: &support };
        let plain = Person { id: 3, is_owner: false, permissions: &none };
        assert_eq!(may(&actor, Disable, &above), Err(Refusal::AboveReach));
        assert!(may(&actor, Disable, &plain).is_ok());
        assert_eq!(may(&actor, ChangeGroup(&support), &plain), Err(Refusal::GroupAboveReach));
    }

    #[test]
    fn each_action_needs_its_permission() {
        let view = set(&["users.view"]);
        let none = PermissionSet::default();
        let actor = Person { id: 1, is_owner: false, permissions: &view };
        let plain = Person { id: 2, is_owner: false, permissions: &none };
        assert!(may(&actor, See, &plain).is_ok());
        for action in [EditInfo, Disable, Impersonate, SendPasswordReset, ResendInvite, ResetSecondFactor] {
            assert!(matches!(may(&actor, action, &plain), Err(Refusal::MissingPermission(_))), "{action:?}");
        }
        let nobody = Person { id: 3, is_owner: false, permissions: &none };
        assert!(may(&nobody, See, &plain).is_err());
    }

    #[test]
    fn only_the_owner_makes_or_unmakes_an_administrator_group() {
        let all = PermissionSet::all();
        let one = set(&["users.view"]);
        let owner = Person { id: 1, is_owner: true, permissions: &all };
        let admin = Person { id: 2, is_owner: false, permissions: &all };
        let member = Person { id: 3, is_owner: false, permissions: &one };
        assert_eq!(may_edit_group(&admin, false, Some(&one), &all, &[member]), Err(Refusal::MakesAdministrator));
        assert_eq!(may_edit_group(&admin, false, Some(&all), &one, &[]), Err(Refusal::MakesAdministrator));
        assert!(may_edit_group(&owner, false, Some(&one), &all, &[member]).is_ok());
        assert_eq!(may_edit_group(&owner, true, Some(&one), &one, &[]), Err(Refusal::BuiltinGroup));
        let groups_only = set(&["groups.manage"]);
        let keeper = Person { id: 4, is_owner: false, permissions: &groups_only };
        assert_eq!(may_edit_group(&keeper, false, Some(&one), &groups_only, &[]), Err(Refusal::GroupAboveReach));
        let mine = Person { id: 4, is_owner: false, permissions: &groups_only };
        assert_eq!(may_edit_group(&keeper, false, Some(&groups_only), &groups_only, &[mine]), Err(Refusal::OwnGroup));
    }

    #[test]
    fn buildings_are_granted_only_within_the_actors_reach() {
        let manager = set(&["users.view", "users.manage"]);
        let none = PermissionSet::default();
        let actor = Person { id: 1, is_owner: false, permissions: &manager };
        let plain = Person { id: 2, is_owner: false, permissions: &none };
        assert_eq!(may_grant(&actor, &plain, false), Err(Refusal::BuildingOutOfReach));
        assert!(may_grant(&actor, &plain, true).is_ok());
        assert_eq!(may_grant(&actor, &actor, true), Err(Refusal::OwnAccount));
    }
}
