//! The Info part of a user (Add New User, edit): parsed once, every field's message collected.

use super::person_name::short_text;
use super::{Email, FieldErrors, JobFunction, PersonName, Phone};

/// What the form sent, kept as typed so a refused form shows it again.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(default)]
pub struct UserInfoForm {
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub phone: String,
    pub title: String,
    pub job_function: String,
    pub company: String,
    pub group_id: String,
}

#[derive(Debug, Clone)]
pub struct UserInfo {
    pub first_name: PersonName,
    pub last_name: PersonName,
    pub email: Email,
    pub phone: Phone,
    pub title: String,
    /// None only for a user provisioned without one (SCIM).
    pub job_function: Option<JobFunction>,
    pub company: String,
    pub group_id: i64,
    /// The name other software knows the user by, when it is not their address (SCIM's
    /// `userName`), and that software's own id for them (`externalId`); None from the screens.
    pub user_name: Option<String>,
    pub external_id: Option<String>,
}

impl UserInfo {
    /// The job function as stored ("" for none).
    pub fn job_key(&self) -> &'static str {
        self.job_function.map_or("", JobFunction::key)
    }
}

impl UserInfoForm {
    /// Every field is required but the company.
    pub fn parse(&self, errors: &mut FieldErrors) -> Option<UserInfo> {
        let first_name = errors.check("first_name", PersonName::parse(&self.first_name));
        let last_name = errors.check("last_name", PersonName::parse(&self.last_name));
        let email = errors.check("email", Email::parse(&self.email));
        let phone = errors.check("phone", Phone::parse(&self.phone));
        let title = errors.check("title", short_text(&self.title, 100, true));
        let job_function = errors.check("job_function", JobFunction::parse(&self.job_function));
        let company = errors.check("company", short_text(&self.company, 100, false));
        let group_id = errors.check("group_id", self.group_id.parse::<i64>().map_err(|_| "Choose a group."));
        Some(UserInfo {
            first_name: first_name?,
            last_name: last_name?,
            email: email?,
            phone: phone?,
            title: title?,
            job_function: Some(job_function?),
            company: company?,
            group_id: group_id?,
            user_name: None,
            external_id: None,
        })
    }

    /// As other software provisions a user (SCIM): phone, title and job function may be empty.
    pub fn parse_provisioned(&self, errors: &mut FieldErrors) -> Option<UserInfo> {
        let first_name = errors.check("first_name", PersonName::parse(&self.first_name));
        let last_name = errors.check("last_name", PersonName::parse(&self.last_name));
        let email = errors.check("email", Email::parse(&self.email));
        let phone = match self.phone.trim() {
            "" => Some(Phone::none()),
            p => errors.check("phone", Phone::parse(p)),
        };
        let title = errors.check("title", short_text(&self.title, 100, false));
        let job_function = match self.job_function.trim() {
            "" => Some(None),
            j => errors.check("job_function", JobFunction::parse(j)).map(Some),
        };
        let company = errors.check("company", short_text(&self.company, 100, false));
        let group_id = errors.check("group_id", self.group_id.parse::<i64>().map_err(|_| "Choose a group."));
        Some(UserInfo {
            first_name: first_name?,
            last_name: last_name?,
            email: email?,
            phone: phone?,
            title: title?,
            job_function: job_function?,
            company: company?,
            group_id: group_id?,
            user_name: None,
            external_id: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn valid() -> UserInfoForm {
        UserInfoForm {
            first_name: "Ann".into(),
            last_name: "Lee".into(),
            email: "Ann@Example.com".into(),
            phone: "+1 702 555 0100".into(),
            title: "Manager".into(),
            job_function: "operations".into(),
            company: String::new(),
            group_id: "2".into(),
        }
    }

    #[test]
    fn a_complete_form_parses() {
        let mut errors = FieldErrors::new();
        let info = valid().parse(&mut errors).expect("valid");
        assert_eq!(info.email.as_str(), "ann@example.com");
        assert!(errors.is_empty());
    }

    #[test]
    fn every_missing_field_gets_its_own_message() {
        let mut errors = FieldErrors::new();
        assert!(UserInfoForm::default().parse(&mut errors).is_none());
        for field in ["first_name", "last_name", "email", "phone", "title", "job_function", "group_id"] {
            assert!(!errors.get(field).is_empty(), "{field}");
        }
        assert!(errors.get("company").is_empty());
    }
}
