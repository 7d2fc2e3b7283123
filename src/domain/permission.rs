//! The fixed catalogue of permissions. Groups hold sets of them; every handler names the one
//! it needs. Nothing checks a group's name.

use std::collections::BTreeSet;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Permission {
    UsersView,
    UsersManage,
    UsersExport,
    UsersImpersonate,
    UsersResetPassword,
    InvitesSend,
    BuildingsViewAll,
    BuildingsManage,
    BuildingsEdit,
    GroupsManage,
    AuditView,
    SettingsManage,
    ApiManage,
}

impl Permission {
    pub const ALL: [Permission; 13] = [
        Permission::UsersView,
        Permission::UsersManage,
        Permission::UsersExport,
        Permission::UsersImpersonate,
        Permission::UsersResetPassword,
        Permission::InvitesSend,
        Permission::BuildingsViewAll,
        Permission::BuildingsManage,
        Permission::BuildingsEdit,
        Permission::GroupsManage,
        Permission::AuditView,
        Permission::SettingsManage,
        Permission::ApiManage,
    ];

    pub fn key(self) -> &'static str {
        match self {
            Permission::UsersView => "users.view",
            Permission::UsersManage => "users.manage",
            Permission::UsersExport => "users.export",
            Permission::UsersImpersonate => "users.impersonate",
            Permission::UsersResetPassword => "users.reset_password",
            Permission::InvitesSend => "invites.send",
            Permission::BuildingsViewAll => "buildings.view_all",
            Permission::BuildingsManage => "buildings.manage",
            Permission::BuildingsEdit => "buildings.edit",
            Permission::GroupsManage => "groups.manage",
            Permission::AuditView => "audit.view",
            Permission::SettingsManage => "settings.manage",
            Permission::ApiManage => "api.manage",
        }
    }

    /// One line for the Groups tab.
    pub fn explanation(self) -> &'static str {
        match self {
            Permission::UsersView => "See the Users tab: every user, their group, status and buildings.",
            Permission::UsersManage => "Add, edit, disable, delete and restore users, and change their buildings.",
            Permission::UsersExport => "Download the user list as CSV.",
            Permission::UsersImpersonate => "Sign in as another (non-admin) user to see what they see.",
            Permission::UsersResetPassword => "Send a user a password-reset link.",
            Permission::InvitesSend => "Send, resend and revoke invitations.",
            Permission::BuildingsViewAll => "Reach every building, including new ones.",
            Permission::BuildingsManage => "Create, edit and delete accounts and buildings, and see who reaches them.",
            Permission::BuildingsEdit => "Edit the details of the buildings they can reach.",
            Permission::GroupsManage => "Create and change groups and their permissions.",
            Permission::AuditView => "Read the audit log.",
            Permission::SettingsManage => "Change the organization's settings.",
            Permission::ApiManage => "Issue and revoke API tokens for other software.",
        }
    }

    pub fn from_key(key: &str) -> Option<Permission> {
        Permission::ALL.into_iter().find(|p| p.key() == key)
    }
}

/// The permissions a user holds through their group.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PermissionSet(BTreeSet<Permission>);

impl PermissionSet {
    pub fn all() -> Self {
        PermissionSet(Permission::ALL.into_iter().collect())
    }

    /// Builds the set from stored keys; keys no longer in the catalogue are ignored.
    pub fn from_keys<'a>(keys: impl IntoIterator<Item = &'a str>) -> Self {
        PermissionSet(keys.into_iter().filter_map(Permission::from_key).collect())
    }

    pub fn has(&self, p: Permission) -> bool {
        self.0.contains(&p)
    }

    /// An administrator holds every permission of the catalogue.
    pub fn is_admin(&self) -> bool {
        Permission::ALL.iter().all(|p| self.0.contains(p))
    }

    /// Whether every permission of `other` is also in this set: one may only act on, or
    /// hand out, what is within one's own reach.
    pub fn covers(&self, other: &PermissionSet) -> bool {
        other.0.is_subset(&self.0)
    }

    pub fn iter(&self) -> impl Iterator<Item = Permission> + '_ {
        self.0.iter().copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip() {
        for p in Permission::ALL {
            assert_eq!(Permission::from_key(p.key()), Some(p));
        }
        assert_eq!(Permission::from_key("users.fly"), None);
    }

    #[test]
    fn only_the_whole_catalogue_is_admin() {
        assert!(PermissionSet::all().is_admin());
        let support = PermissionSet::from_keys(["users.view", "invites.send"]);
        assert!(!support.is_admin());
        assert!(PermissionSet::all().covers(&support));
        assert!(!support.covers(&PermissionSet::all()));
    }
}
