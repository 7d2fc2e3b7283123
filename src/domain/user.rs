//! A user's status and job function.

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserStatus {
    Invited,
    Active,
    Disabled,
    Deleted,
}

impl UserStatus {
    pub const ALL: [UserStatus; 4] =
        [UserStatus::Invited, UserStatus::Active, UserStatus::Disabled, UserStatus::Deleted];

    pub fn as_str(self) -> &'static str {
        match self {
            UserStatus::Invited => "invited",
            UserStatus::Active => "active",
            UserStatus::Disabled => "disabled",
            UserStatus::Deleted => "deleted",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            UserStatus::Invited => "Invited",
            UserStatus::Active => "Active",
            UserStatus::Disabled => "Disabled",
            UserStatus::Deleted => "Deleted",
        }
    }

    pub fn parse(s: &str) -> Option<UserStatus> {
        UserStatus::ALL.into_iter().find(|st| st.as_str() == s)
    }
}

impl fmt::Display for UserStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// The fixed list of job functions, "only used to categorize users".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobFunction {
    PropertyManager,
    FacilitiesManager,
    BuildingEngineer,
    Leasing,
    Operations,
    Finance,
    Executive,
    Security,
    Tenant,
    Vendor,
    Other,
}

impl JobFunction {
    pub const ALL: [JobFunction; 11] = [
        JobFunction::PropertyManager,
        JobFunction::FacilitiesManager,
        JobFunction::BuildingEngineer,
        JobFunction::Leasing,
        JobFunction::Operations,
        JobFunction::Finance,
        JobFunction::Executive,
        JobFunction::Security,
        JobFunction::Tenant,
        JobFunction::Vendor,
        JobFunction::Other,
    ];

    pub fn key(self) -> &'static str {
        match self {
            JobFunction::PropertyManager => "property_manager",
            JobFunction::FacilitiesManager => "facilities_manager",
            JobFunction::BuildingEngineer => "building_engineer",
            JobFunction::Leasing => "leasing",
            JobFunction::Operations => "operations",
            JobFunction::Finance => "finance",
            JobFunction::Executive => "executive",
            JobFunction::Security => "security",
            JobFunction::Tenant => "tenant",
            JobFunction::Vendor => "vendor",
            JobFunction::Other => "other",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            JobFunction::PropertyManager => "Property manager",
            JobFunction::FacilitiesManager => "Facilities manager",
            JobFunction::BuildingEngineer => "Building engineer",
            JobFunction::Leasing => "Leasing",
            JobFunction::Operations => "Operations",
            JobFunction::Finance => "Finance / accounting",
            JobFunction::Executive => "Executive",
            JobFunction::Security => "Security",
            JobFunction::Tenant => "Tenant",
            JobFunction::Vendor => "Vendor / contractor",
            JobFunction::Other => "Other",
        }
    }

    pub fn parse(key: &str) -> Result<JobFunction, &'static str> {
        JobFunction::ALL.into_iter().find(|j| j.key() == key).ok_or("Pick the closest job function.")
    }

    /// The label for a stored key ("" for none).
    pub fn label_of(key: &str) -> &'static str {
        JobFunction::parse(key).map(JobFunction::label).unwrap_or("")
    }
}

/// How a user has (not) been using the portal, as the Users list filters it; "a while" is the
/// organization's `dormant_days`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Activity {
    /// Never signed in.
    NeverSignedIn,
    /// Invited a while ago, and the invitation not accepted.
    InvitationUnanswered,
    /// Active, with no sign-in for a while.
    Dormant,
}

impl Activity {
    pub const ALL: [Activity; 3] = [Activity::NeverSignedIn, Activity::InvitationUnanswered, Activity::Dormant];

    pub fn key(self) -> &'static str {
        match self {
            Activity::NeverSignedIn => "never_signed_in",
            Activity::InvitationUnanswered => "invitation_unanswered",
            Activity::Dormant => "dormant",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Activity::NeverSignedIn => "Never signed in",
            Activity::InvitationUnanswered => "Invited, not accepted for a while",
            Activity::Dormant => "Dormant: no sign-in for a while",
        }
    }

    pub fn parse(key: &str) -> Option<Activity> {
        Activity::ALL.into_iter().find(|a| a.key() == key)
    }
}
