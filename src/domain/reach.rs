//! Who may act on whom. Pure rules, used by every single and bulk action on a user.

use super::PermissionSet;

/// The person acting.
pub struct Actor<'a> {
    pub id: i64,
    pub is_owner: bool,
    pub permissions: &'a PermissionSet,
}

/// The user acted on.
pub struct Subject<'a> {
    pub id: i64,
    pub is_owner: bool,
    pub permissions: &'a PermissionSet,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    EditInfo,
    ChangeAccess,
    ChangeGroup,
    Disable,
    Enable,
    Delete,
    Restore,
    ResendInvite,
    Impersonate,
}

/// Whether `actor` may do `action` to `subject`; the refusal says why, for the page.
pub fn check(actor: &Actor<'_>, subject: &Subject<'_>, action: Action) -> Result<(), &'static str> {
    use Action::*;
    let own = actor.id == subject.id;
    if own && matches!(action, Disable | Delete | ChangeGroup | Impersonate) {
        return Err("You can't do this to your own account.");
    }
    if subject.is_owner && !own {
        if matches!(action, Disable | Delete | ChangeGroup | Impersonate) {
            return Err("No one can disable, delete, demote or sign in as the owner.");
        }
        if !actor.is_owner {
            return Err("Only the owner can change the owner's account.");
        }
    }
    let subject_is_admin = subject.permissions.is_admin();
    if subject_is_admin && action == Impersonate {
        return Err("No one can sign in as an administrator.");
    }
    if subject_is_admin && !actor.is_owner && matches!(action, ChangeGroup | Disable | Delete) {
        return Err("Only the owner can change an administrator's group, disable or delete them.");
    }
    if !actor.permissions.covers(subject.permissions) {
        return Err("This user holds permissions you don't have, so you can't change them.");
    }
    Ok(())
}

/// Whether `actor` may put someone into a group granting `group`: only within their own reach,
/// and only the owner makes administrators.
pub fn may_assign(actor: &Actor<'_>, group: &PermissionSet) -> Result<(), &'static str> {
    if group.is_admin() && !actor.is_owner {
        return Err("Only the owner can make someone an administrator.");
    }
    if !actor.permissions.covers(group) {
        return Err("This group grants permissions you don't have.");
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

    #[test]
    fn nobody_disables_deletes_demotes_or_impersonates_the_owner() {
        let all = PermissionSet::all();
        let admin = Actor { id: 2, is_owner: false, permissions: &all };
        let owner = Subject { id: 1, is_owner: true, permissions: &all };
        for action in [Disable, Delete, ChangeGroup, Impersonate, EditInfo] {
            assert!(check(&admin, &owner, action).is_err(), "{action:?}");
        }
    }

    #[test]
    fn only_the_owner_demotes_disables_or_deletes_an_admin() {
        let all = PermissionSet::all();
        let owner = Actor { id: 1, is_owner: true, permissions: &all };
        let admin = Actor { id: 2, is_owner: false, permissions: &all };
        let other_admin = Subject { id: 3, is_owner: false, permissions: &all };
        for action in [ChangeGroup, Disable, Delete] {
            assert!(check(&owner, &other_admin, action).is_ok());
            assert!(check(&admin, &other_admin, action).is_err());
        }
        assert!(check(&admin, &other_admin, EditInfo).is_ok());
        assert!(check(&owner, &other_admin, Impersonate).is_err());
    }

    #[test]
    fn nobody_disables_or_deletes_themselves() {
        let all = PermissionSet::all();
        let me = Actor { id: 1, is_owner: true, permissions: &all };
        let myself = Subject { id: 1, is_owner: true, permissions: &all };
        assert!(check(&me, &myself, Disable).is_err());
        assert!(check(&me, &myself, Delete).is_err());
        assert!(check(&me, &myself, EditInfo).is_ok());
    }

    #[test]
    fn a_user_above_the_actors_reach_is_refused() {
        let manager = set(&["users.view", "users.manage"]);
        let support = set(&["users.view", "invites.send"]);
        let actor = Actor { id: 1, is_owner: false, permissions: &manager };
        let subject = Subject { id: 2, is_owner: false, permissions: &support };
        assert!(check(&actor, &subject, Disable).is_err());
        let customer = set(&[]);
        let plain = Subject { id: 3, is_owner: false, permissions: &customer };
        assert!(check(&actor, &plain, Disable).is_ok());
    }

    #[test]
    fn groups_are_assigned_within_reach_and_admins_only_by_the_owner() {
        let all = PermissionSet::all();
        let admin = Actor { id: 2, is_owner: false, permissions: &all };
        let owner = Actor { id: 1, is_owner: true, permissions: &all };
        assert!(may_assign(&admin, &all).is_err());
        assert!(may_assign(&owner, &all).is_ok());
        assert!(may_assign(&admin, &set(&["users.view"])).is_ok());
    }
}
