//! IAM actions.

use super::{ActionSpec, Category, Default, ParamSpec, ParamType, flag, int, on, s};
use crate::finding::resource_types as rt;
use crate::ids::IdKind;

/// The user an IAM user action works on.
const USER: ParamSpec = ParamSpec {
    name: "user",
    ty: ParamType::Id(IdKind::IamUserNameOrId),
    default: None,
    optional: false,
    doc: "The IAM user (name, or user id AIDA… which is resolved first).",
};

pub(super) static SPECS: &[ActionSpec] = &[
    ActionSpec {
        id: "iam.deactivate_access_key",
        category: Category::Iam,
        reversible: true,
        resource_types: &[rt::IAM_ACCESS_KEY],
        params: &[
            ParamSpec {
                name: "user",
                ty: ParamType::Id(IdKind::IamUserNameOrId),
                default: None,
                optional: false,
                doc: "The user that owns the key (name, or user id AIDA… which is resolved first).",
            },
            ParamSpec {
                name: "access_key_id",
                ty: ParamType::Id(IdKind::LongTermAccessKeyId),
                default: None,
                optional: false,
                doc: "The long-term key (AKIA…) to deactivate.",
            },
        ],
        permissions: &["iam:ListUsers", "iam:ListAccessKeys", "iam:UpdateAccessKey"],
        summary: "Deactivate one long-term access key of an IAM user.",
        describe: |p| {
            format!(
                "Deactivate access key {} of IAM user {}: every request signed with it fails from now on, including any legitimate automation still using it.",
                s(p, "access_key_id"),
                s(p, "user")
            )
        },
    },
    ActionSpec {
        id: "iam.deactivate_stale_access_keys",
        category: Category::Iam,
        reversible: true,
        resource_types: &[rt::IAM_USER],
        params: &[
            ParamSpec {
                name: "user",
                ty: ParamType::Id(IdKind::IamUserNameOrId),
                default: None,
                optional: false,
                doc: "The user whose keys are checked (name, or user id AIDA… which is resolved first).",
            },
            ParamSpec {
                name: "unused_days",
                ty: ParamType::Int { min: 1, max: 3650 },
                default: Some(Default::Int(90)),
                optional: false,
                doc: "A key not used for this many days (or never used and older than this) is stale.",
            },
            ParamSpec {
                name: "max_age_days",
                ty: ParamType::Int { min: 1, max: 3650 },
                default: Some(Default::Int(90)),
                optional: false,
                doc: "A key older than this many days is unrotated.",
            },
        ],
        permissions: &[
            "iam:ListUsers",
            "iam:ListAccessKeys",
            "iam:GetAccessKeyLastUsed",
            "iam:UpdateAccessKey",
        ],
        summary: "Deactivate a user's access keys that are unused or unrotated.",
        describe: |p| {
            format!(
                "Deactivate the active access keys of IAM user {} that were not used in {} days or are older than {} days: anything still signing with them fails.",
                s(p, "user"),
                int(p, "unused_days"),
                int(p, "max_age_days")
            )
        },
    },
    ActionSpec {
        id: "iam.revoke_role_sessions",
        category: Category::Iam,
        reversible: true,
        resource_types: &[rt::IAM_ROLE, rt::IAM_ACCESS_KEY],
        params: &[ParamSpec {
            name: "role",
            ty: ParamType::Id(IdKind::IamName),
            default: None,
            optional: false,
            doc: "The role whose temporary credentials are revoked.",
        }],
        permissions: &[
            "iam:GetRole",
            "iam:GetRolePolicy",
            "iam:PutRolePolicy",
            "iam:DeleteRolePolicy",
        ],
        summary: "Deny every session of a role issued before now (inline policy on aws:TokenIssueTime).",
        describe: |p| {
            format!(
                "Attach an inline policy to role {} that denies every action to sessions issued before now: stolen temporary credentials stop working, and so do the role's current legitimate sessions until they assume the role again.",
                s(p, "role")
            )
        },
    },
    ActionSpec {
        id: "iam.update_account_password_policy",
        category: Category::Iam,
        reversible: true,
        resource_types: &[rt::ACCOUNT],
        params: &[
            ParamSpec {
                name: "minimum_password_length",
                ty: ParamType::Int { min: 6, max: 128 },
                default: Some(Default::Int(14)),
                optional: false,
                doc: "Minimum password length (IAM.15: 14 or more).",
            },
            flag("require_symbols", "Require at least one symbol (IAM.13)."),
            flag("require_numbers", "Require at least one number (IAM.14)."),
            flag(
                "require_uppercase",
                "Require at least one uppercase letter (IAM.11).",
            ),
            flag(
                "require_lowercase",
                "Require at least one lowercase letter (IAM.12).",
            ),
            ParamSpec {
                name: "password_reuse_prevention",
                ty: ParamType::Int { min: 1, max: 24 },
                default: Some(Default::Int(24)),
                optional: false,
                doc: "How many previous passwords cannot be reused (IAM.16: 24).",
            },
            ParamSpec {
                name: "max_password_age",
                ty: ParamType::Int { min: 1, max: 1095 },
                default: Some(Default::Int(90)),
                optional: false,
                doc: "Days after which a password expires (IAM.17: 90 or less).",
            },
        ],
        permissions: &[
            "iam:GetAccountPasswordPolicy",
            "iam:UpdateAccountPasswordPolicy",
            "iam:DeleteAccountPasswordPolicy",
        ],
        summary: "Set the account password policy to at least the given strength, keeping stricter settings.",
        describe: |p| {
            let req: Vec<&str> = [
                ("require_symbols", "symbols"),
                ("require_numbers", "numbers"),
                ("require_uppercase", "uppercase letters"),
                ("require_lowercase", "lowercase letters"),
            ]
            .into_iter()
            .filter(|(k, _)| on(p, k))
            .map(|(_, v)| v)
            .collect();
            format!(
                "Set the IAM account password policy to at least: {} characters, requiring {}, no reuse of the last {} passwords, expiry after {} days (settings already stricter are kept). Existing passwords keep working until they expire; the next password change of every console user must meet the policy, and expired passwords must be changed at sign-in.",
                int(p, "minimum_password_length"),
                if req.is_empty() {
                    "no character classes".to_owned()
                } else {
                    req.join(", ")
                },
                int(p, "password_reuse_prevention"),
                int(p, "max_password_age")
            )
        },
    },
    ActionSpec {
        id: "iam.attach_user_deny_all",
        category: Category::Iam,
        reversible: true,
        resource_types: &[rt::IAM_USER, rt::IAM_ACCESS_KEY],
        params: &[USER],
        permissions: &[
            "iam:ListUsers",
            "iam:GetUser",
            "iam:GetUserPolicy",
            "iam:PutUserPolicy",
            "iam:DeleteUserPolicy",
        ],
        summary: "Quarantine an IAM user: an inline policy that denies every action.",
        describe: |p| {
            format!(
                "Attach the inline policy RedressQuarantine to IAM user {} that denies every action on every resource: every request by the user fails from now on, console and access keys alike, including any automation that runs as this user. Nothing is deleted: revert removes the policy.",
                s(p, "user")
            )
        },
    },
    ActionSpec {
        id: "iam.detach_admin_policies_from_user",
        category: Category::Iam,
        reversible: true,
        resource_types: &[rt::IAM_USER],
        params: &[USER],
        permissions: &[
            "iam:ListUsers",
            "iam:GetUser",
            "iam:ListAttachedUserPolicies",
            "iam:GetPolicy",
            "iam:GetPolicyVersion",
            "iam:DetachUserPolicy",
            "iam:AttachUserPolicy",
        ],
        summary: "Detach the managed policies that grant full administrator access (Action * on Resource *) from a user.",
        describe: |p| {
            format!(
                "Detach from IAM user {} every attached managed policy whose default version allows \"*\" on \"*\" (AdministratorAccess or a copy of it); other policies and group memberships stay. Whatever the user did with administrator rights and no narrower policy allows stops working. Revert attaches the same policies again.",
                s(p, "user")
            )
        },
    },
    ActionSpec {
        id: "iam.delete_login_profile",
        category: Category::Iam,
        reversible: false,
        resource_types: &[rt::IAM_USER],
        params: &[
            USER,
            ParamSpec {
                name: "unused_days",
                ty: ParamType::Int { min: 1, max: 3650 },
                default: Some(Default::Int(90)),
                optional: false,
                doc: "A console password not used for this many days (or never used and older than this) is removed; a password in use is left alone.",
            },
        ],
        permissions: &[
            "iam:ListUsers",
            "iam:GetUser",
            "iam:GetLoginProfile",
            "iam:DeleteLoginProfile",
        ],
        summary: "Remove an IAM user's console password when it is unused (cannot be undone).",
        describe: |p| {
            format!(
                "Delete the console password (login profile) of IAM user {} if it was not used in {} days: the user can no longer sign in to the console; access keys are not touched. This cannot be undone: the old password is gone, and restoring console access means setting a new password.",
                s(p, "user"),
                int(p, "unused_days")
            )
        },
    },
];
