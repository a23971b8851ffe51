//! Several Huawei accounts in one process: `ACCOUNTS=cn,intl` names them, and
//! `ACCOUNT_<NAME>_<VARIABLE>` gives one account its own value of a variable of the table (its
//! keys, site, packages, shutdown mode, level actions, instances).
//!
//! Without `ACCOUNTS` the old single-account variables are the one implicit account (named ``,
//! shown nowhere), so an existing `.env` works unchanged. With it, every account is parsed by
//! the same section constructors as the single account, on a view of the environment where the
//! account's `ACCOUNT_<NAME>_...` values stand in for the global ones (`account_view`): the
//! checks are the same, and a mistake is reported under the name the user wrote.
//!
//! Which variables an account may set, and which fall back to the global value, is the table
//! [`super::vars::PER_ACCOUNT`]. Strict: a group not listed in `ACCOUNTS` (`ACCOUNT_CNN_...`), a
//! variable that cannot be per account, a variable name that does not exist, and a key or
//! package list written globally next to `ACCOUNTS` are errors naming the variable and the fix.
//! Pure: no I/O.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::validate::Checker;
use super::vars::{per_account, Inherit, PER_ACCOUNT};
use super::{ConfigError, HuaweiConfig, RawConfig, ShutdownMode, WatchConfig};
use crate::actions::Action;
use crate::level::Level;
use crate::target::Target;

/// What every per-account variable starts with.
pub const PREFIX: &str = "ACCOUNT_";

/// The longest account name.
pub const MAX_NAME: usize = 16;

/// One Huawei account and what is watched and done with it.
#[derive(Debug, Clone, Serialize)]
pub struct Account {
    /// As listed in `ACCOUNTS` (lower case); empty for the implicit account of the old
    /// single-account variables.
    pub name: String,
    /// Its keys, site, endpoints, region and project.
    pub huawei: HuaweiConfig,
    /// Its packages (`FREE_RESOURCE_IDS`, then those of `FLEXUS_INSTANCES`).
    pub free_resource_ids: Vec<String>,
    /// `SERVER_NAME` of its packages without a known instance.
    pub server_name: String,
    /// Package → instance (`FLEXUS_INSTANCES`, `ECS_SERVER_ID`).
    pub targets: BTreeMap<String, Target>,
    pub shutdown_mode: ShutdownMode,
    /// `LEVELn_ACTIONS` of this account.
    pub levels: BTreeMap<Level, BTreeSet<Action>>,
}

impl Account {
    /// Whether level 1 shuts down this account's packages: `SHUTDOWN_MODE` is not `off` and
    /// `LEVEL1_ACTIONS` has `shutdown`.
    pub fn shuts_down(&self) -> bool {
        self.shutdown_mode != ShutdownMode::Off
            && self
                .levels
                .get(&Level::L1)
                .is_some_and(|a| a.contains(&Action::Shutdown))
    }

    /// The name of `variable` for this account, as the user writes it.
    pub fn var(&self, variable: &str) -> String {
        if self.name.is_empty() {
            variable.to_string()
        } else {
            format!("{PREFIX}{}_{variable}", self.name.to_ascii_uppercase())
        }
    }
}

/// `ACCOUNTS`: the names, lower case, in order; mistakes reported on `c`.
fn names(c: &mut Checker) -> Vec<String> {
    let Some(given) = c.given("ACCOUNTS") else {
        return Vec::new();
    };
    let mut out: Vec<String> = Vec::new();
    for name in given.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        let lower = name.to_ascii_lowercase();
        if lower.len() > MAX_NAME
            || !lower
                .chars()
                .all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit())
        {
            c.error_zh(
                ConfigError::new(
                    "ACCOUNTS",
                    name,
                    format!("is not an account name (letters and digits only, at most {MAX_NAME})"),
                    "name each account with a short word such as cn, intl or shop1, separated by commas",
                )
                .zh(
                    format!("不是有效的账号名（只能用字母和数字，最多 {MAX_NAME} 个）"),
                    "给每个账号起一个短名字，如 cn、intl 或 shop1，用逗号分隔",
                ),
            );
        } else if out.contains(&lower) {
            c.error_zh(
                ConfigError::new(
                    "ACCOUNTS",
                    name,
                    "is listed twice",
                    "list each account once",
                )
                .zh("重复列出", "每个账号只列一次"),
            );
        } else {
            out.push(lower);
        }
    }
    if out.is_empty() {
        c.error_zh(
            ConfigError::new(
                "ACCOUNTS",
                given,
                "names no account",
                "list the accounts, e.g. ACCOUNTS=cn,intl, or remove the line to use the single-account variables",
            )
            .zh("没有列出任何账号", "列出账号名，如 ACCOUNTS=cn,intl；或删除这一行，使用单账号的变量"),
        );
    }
    out
}

/// The account's view of the environment: the global variables it inherits, with its own
/// `ACCOUNT_<NAME>_...` values in their place.
fn account_view(raw: &RawConfig, own: &BTreeMap<&'static str, String>) -> RawConfig {
    let mut view = raw.clone();
    for p in PER_ACCOUNT {
        if p.inherit == Inherit::Never {
            view.unset(p.name);
        }
    }
    // An account on its own site does not inherit the global endpoint of another site.
    if own.contains_key("HUAWEICLOUD_SITE") && !own.contains_key("HUAWEICLOUD_BSS_ENDPOINT") {
        view.unset("HUAWEICLOUD_BSS_ENDPOINT");
    }
    for (var, value) in own {
        view.set(var, value.clone());
    }
    view
}

/// Renames a mistake found on an account's view to the variable the user wrote: its own
/// `ACCOUNT_<NAME>_...` when it set one, else the global one, saying which account it was for.
fn rename(mut e: ConfigError, account: &str, own: &BTreeMap<&'static str, String>) -> ConfigError {
    let group = account.to_ascii_uppercase();
    let is_own = own
        .keys()
        .any(|k| e.variable == *k || e.variable.starts_with(&format!("{k}/")));
    if is_own {
        e.variable = format!("{PREFIX}{group}_{}", e.variable);
    } else {
        e.problem = format!("{} (for account {account})", e.problem);
        if let Some((p, _)) = &mut e.zh {
            p.push_str(&format!("（账号 {account}）"));
        }
    }
    e
}

/// The accounts of `ACCOUNTS` and their mistakes; empty without `ACCOUNTS` (then the caller
/// builds the implicit account).
pub(super) fn check(raw: &RawConfig, c: &mut Checker) -> Vec<Account> {
    let names = names(c);
    let mut own: BTreeMap<String, BTreeMap<&'static str, String>> = names
        .iter()
        .map(|n| (n.to_ascii_uppercase(), BTreeMap::new()))
        .collect();
    for (full, value) in raw.account_vars() {
        let rest = &full[PREFIX.len()..];
        let (group, variable) = rest.split_once('_').unwrap_or((rest, ""));
        if !own.contains_key(group) {
            let listed = if names.is_empty() {
                "ACCOUNTS is not set".to_string()
            } else {
                format!("ACCOUNTS={}", names.join(","))
            };
            let lower = group.to_ascii_lowercase();
            c.error_zh(
                ConfigError::new(
                    full,
                    "",
                    format!("belongs to an account `{lower}` that is not listed ({listed})"),
                    format!("add {lower} to ACCOUNTS, or correct the name to one of the listed accounts ({PREFIX}<NAME>_<VARIABLE>)"),
                )
                .zh(
                    format!("所属账号 `{lower}` 未在 ACCOUNTS 中列出（{listed}）"),
                    format!("把 {lower} 加入 ACCOUNTS，或把名字改成已列出的账号（{PREFIX}<账号名>_<变量名>）"),
                ),
            );
            continue;
        }
        match per_account(variable) {
            Some(p) => {
                own.get_mut(group)
                    .expect("checked above")
                    .insert(p.name, value.to_string());
            }
            None if super::vars::VARS.iter().any(|v| v.name == variable) => c.error_zh(
                ConfigError::new(
                    full,
                    "",
                    format!("{variable} cannot be set per account: it is shared by all accounts"),
                    format!("set {variable} once, without the {PREFIX}{group}_ prefix"),
                )
                .zh(
                    format!("{variable} 不能按账号设置：所有账号共用它"),
                    format!("去掉 {PREFIX}{group}_ 前缀，只设置一次 {variable}"),
                ),
            ),
            None => {
                let known: Vec<&str> = PER_ACCOUNT.iter().map(|p| p.name).collect();
                c.error_zh(
                    ConfigError::new(
                        full,
                        "",
                        format!("`{variable}` is not a variable an account can set"),
                        format!("use one of {}", known.join(", ")),
                    )
                    .zh(
                        format!("`{variable}` 不是账号可以设置的变量"),
                        format!("可用的变量：{}", known.join("、")),
                    ),
                );
            }
        }
    }
    if names.is_empty() {
        return Vec::new();
    }
    for p in PER_ACCOUNT.iter().filter(|p| p.inherit == Inherit::Never) {
        if c.given(p.name).is_some() {
            c.error_zh(
                ConfigError::new(
                    p.name,
                    "",
                    "cannot be used together with ACCOUNTS: it would not be clear which account it belongs to",
                    format!("move it to {PREFIX}<NAME>_{} of its account", p.name),
                )
                .zh(
                    "不能与 ACCOUNTS 同时使用：无法判断它属于哪个账号",
                    format!("把它改写为所属账号的 {PREFIX}<账号名>_{}", p.name),
                ),
            );
        }
    }
    let mut accounts = Vec::new();
    let mut owner: BTreeMap<String, String> = BTreeMap::new();
    for name in &names {
        let group = name.to_ascii_uppercase();
        let own = &own[&group];
        let view = account_view(raw, own);
        let mut ac = Checker::new(&view);
        let huawei = HuaweiConfig::check(&mut ac);
        let watch = WatchConfig::check(&mut ac, &huawei);
        let shutdown_mode: ShutdownMode = ac.choice("SHUTDOWN_MODE", "is not a shutdown mode");
        let levels = super::actions::levels(&mut ac);
        for e in ac.errors {
            // Mistakes of inherited global values are reported once, by the global check.
            let per = PER_ACCOUNT.iter().any(|p| e.variable.starts_with(p.name));
            let inherited_only = !own.keys().any(|k| e.variable.starts_with(k));
            if per && !(inherited_only && c.errors.iter().any(|g| g.variable == e.variable)) {
                c.errors.push(rename(e, name, own));
            }
        }
        for id in &watch.free_resource_ids {
            if let Some(other) = owner.insert(id.clone(), name.clone()) {
                c.error_zh(
                    ConfigError::new(
                        &format!("{PREFIX}{group}_FREE_RESOURCE_IDS"),
                        id,
                        format!("is a package of account {other} too; a package belongs to one account"),
                        "list each package under the account that owns it only (`discover` with that account's keys lists its packages)",
                    )
                    .zh(
                        format!("也列在账号 {other} 下；一个流量包只属于一个账号"),
                        "只在拥有它的账号下列出（用该账号的密钥运行 `discover` 可列出它的流量包）",
                    ),
                );
            }
        }
        accounts.push(Account {
            name: name.clone(),
            huawei,
            free_resource_ids: watch.free_resource_ids,
            server_name: watch.server_name,
            targets: watch.targets,
            shutdown_mode,
            levels,
        });
    }
    accounts
}

/// The mistakes only a polling command (`serve`, `check`) cares about: an account without keys
/// or packages.
pub(super) fn require_polling(accounts: &[Account]) -> Vec<ConfigError> {
    let mut errors = Vec::new();
    for a in accounts {
        let whose = if a.name.is_empty() {
            String::new()
        } else {
            format!(" of account {}", a.name)
        };
        let whose_zh = if a.name.is_empty() {
            String::new()
        } else {
            format!("（账号 {}）", a.name)
        };
        if a.huawei.access_key.is_none() {
            errors.push(
                ConfigError::new(
                    &a.var("HUAWEICLOUD_SDK_AK"),
                    "",
                    "is not set",
                    format!("put the Access Key ID{whose} in .env (it needs BSS ReadonlyAccess)"),
                )
                .zh(
                    "未设置",
                    format!("在 .env 中填写访问密钥 ID{whose_zh}（AK，该 IAM 用户需要 BSS ReadonlyAccess 权限）"),
                ),
            );
        }
        if a.huawei.secret_key.is_none() {
            errors.push(
                ConfigError::new(
                    &a.var("HUAWEICLOUD_SDK_SK"),
                    "",
                    "is not set",
                    format!("put the Secret Access Key{whose} in .env"),
                )
                .zh(
                    "未设置",
                    format!("在 .env 中填写秘密访问密钥{whose_zh}（SK）"),
                ),
            );
        }
        if a.free_resource_ids.is_empty() {
            errors.push(
                ConfigError::new(
                    &a.var("FREE_RESOURCE_IDS"),
                    "",
                    "is not set",
                    format!("list the traffic package ids{whose}, comma-separated; `flexus-traffic-monitor discover` prints a ready line"),
                )
                .zh(
                    "未设置",
                    format!("填写流量包 ID{whose_zh}，多个用逗号分隔；`flexus-traffic-monitor discover` 会打印现成的一行"),
                ),
            );
        }
    }
    errors
}

#[cfg(test)]
mod tests {
    use super::super::{Config, ConfigErrors, RawConfig};
    use crate::config::ShutdownMode;
    use crate::messages::Lang;

    fn cfg(pairs: &[(&str, &str)]) -> Result<Config, ConfigErrors> {
        let raw = RawConfig::from_pairs(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())))
            .unwrap();
        Config::from_raw(&raw)
    }

    const TWO: &[(&str, &str)] = &[
        ("ACCOUNTS", "cn,intl"),
        ("ACCOUNT_CN_HUAWEICLOUD_SDK_AK", "ak-cn"),
        ("ACCOUNT_CN_HUAWEICLOUD_SDK_SK", "sk-cn-secret"),
        ("ACCOUNT_CN_FREE_RESOURCE_IDS", "pkg-cn"),
        ("account_intl_huaweicloud_sdk_ak", "ak-intl"),
        ("ACCOUNT_INTL_HUAWEICLOUD_SDK_SK", "sk-intl-secret"),
        ("ACCOUNT_INTL_HUAWEICLOUD_SITE", "intl"),
        ("ACCOUNT_INTL_FREE_RESOURCE_IDS", "pkg-i1, pkg-i2"),
        ("ACCOUNT_INTL_SHUTDOWN_MODE", "off"),
        ("ACCOUNT_INTL_SERVER_NAME", "hk"),
        ("SHUTDOWN_MODE", "command"),
        ("LOCAL_FREE_RESOURCE_IDS", "pkg-cn"),
        ("LEVEL2_ACTIONS", "throttle"),
    ];

    fn with(extra: &[(&'static str, &'static str)]) -> Vec<(&'static str, &'static str)> {
        TWO.iter().chain(extra).copied().collect()
    }

    fn problems(e: &ConfigErrors) -> String {
        e.render(None, Lang::En) + &e.render(None, Lang::Zh)
    }

    #[test]
    fn two_accounts_each_have_their_keys_site_packages_and_shutdown_mode() {
        let c = cfg(TWO).unwrap();
        c.require_for_serve().unwrap();
        assert!(c.several_accounts());
        let [cn, intl] = &c.accounts[..] else {
            panic!("{:?}", c.accounts)
        };
        assert_eq!(cn.name, "cn");
        assert_eq!(cn.huawei.access_key.as_ref().unwrap().expose(), "ak-cn");
        assert_eq!(
            cn.huawei.bss_endpoint.as_str(),
            "https://bss.myhuaweicloud.com/"
        );
        assert_eq!(cn.free_resource_ids, ["pkg-cn"]);
        assert_eq!(
            cn.shutdown_mode,
            ShutdownMode::Command,
            "falls back to the global"
        );
        assert!(cn.shuts_down());
        assert_eq!(
            intl.huawei.secret_key.as_ref().unwrap().expose(),
            "sk-intl-secret"
        );
        assert_eq!(
            intl.huawei.bss_endpoint.as_str(),
            "https://bss-intl.myhuaweicloud.com/"
        );
        assert_eq!(intl.free_resource_ids, ["pkg-i1", "pkg-i2"]);
        assert!(!intl.shuts_down());
        // Every package is watched, and named with its account.
        assert_eq!(c.watch.free_resource_ids, ["pkg-cn", "pkg-i1", "pkg-i2"]);
        assert_eq!(c.account_name("pkg-i2"), "intl");
        assert_eq!(c.shown_server("pkg-i1"), "hk [intl]", "its own SERVER_NAME");
        assert_eq!(c.shown_server("pkg-cn"), "flexus [cn]");
        let hk = cfg(&with(&[("FLEXUS_INSTANCES", "")])).unwrap();
        assert_eq!(hk.accounts[1].server_name, "hk");
    }

    #[test]
    fn the_old_single_account_variables_are_one_unnamed_account() {
        let c = cfg(&[
            ("HUAWEICLOUD_SDK_AK", "ak"),
            ("HUAWEICLOUD_SDK_SK", "sk"),
            ("FREE_RESOURCE_IDS", "a,b"),
            ("HUAWEICLOUD_SITE", "eu"),
        ])
        .unwrap();
        assert!(!c.several_accounts());
        assert_eq!(c.accounts.len(), 1);
        assert_eq!(c.accounts[0].name, "");
        assert_eq!(c.accounts[0].free_resource_ids, ["a", "b"]);
        assert_eq!(
            c.accounts[0].huawei.bss_endpoint.as_str(),
            "https://bss.myhuaweicloud.eu/"
        );
        assert_eq!(c.shown_server("a"), "flexus");
        assert!(!c.effective().iter().any(|(k, _)| k.starts_with("ACCOUNT_")));
    }

    #[test]
    fn a_group_not_listed_in_accounts_is_an_error_naming_it_and_the_fix() {
        let e = cfg(&with(&[("ACCOUNT_CNN_HUAWEICLOUD_SDK_AK", "x")])).unwrap_err();
        let text = problems(&e);
        assert!(text.contains("ACCOUNT_CNN_HUAWEICLOUD_SDK_AK: belongs to an account `cnn` that is not listed (ACCOUNTS=cn,intl); fix: add cnn to ACCOUNTS"), "{text}");
        assert!(text.contains("未在 ACCOUNTS 中列出"), "{text}");
        let e = cfg(&[("ACCOUNT_CN_FREE_RESOURCE_IDS", "a")]).unwrap_err();
        assert!(problems(&e).contains("ACCOUNTS is not set"), "{e}");
    }

    #[test]
    fn a_variable_that_cannot_be_per_account_or_does_not_exist_is_an_error() {
        let e = cfg(&with(&[
            ("ACCOUNT_CN_TELEGRAM_BOT_TOKEN", "t"),
            ("ACCOUNT_INTL_HUAWEICLOUD_SDK_KA", "k"),
        ]))
        .unwrap_err();
        let text = problems(&e);
        assert!(text.contains("ACCOUNT_CN_TELEGRAM_BOT_TOKEN: TELEGRAM_BOT_TOKEN cannot be set per account: it is shared by all accounts; fix: set TELEGRAM_BOT_TOKEN once, without the ACCOUNT_CN_ prefix"), "{text}");
        assert!(text.contains("ACCOUNT_INTL_HUAWEICLOUD_SDK_KA: `HUAWEICLOUD_SDK_KA` is not a variable an account can set; fix: use one of HUAWEICLOUD_SDK_AK"), "{text}");
        assert!(text.contains("不能按账号设置"), "{text}");
    }

    #[test]
    fn a_bad_value_of_one_account_is_reported_under_its_own_name() {
        let e = cfg(&with(&[
            ("ACCOUNT_CN_HUAWEICLOUD_SITE", "mars"),
            ("ACCOUNT_INTL_SHUTDOWN_MODE", "sometimes"),
            ("ACCOUNT_INTL_LEVEL2_ACTIONS", "shutdown"),
            ("ACCOUNT_CN_FREE_RESOURCE_IDS", "pkg cn"),
        ]))
        .unwrap_err();
        let text = problems(&e);
        for v in [
            "ACCOUNT_CN_HUAWEICLOUD_SITE=\"mars\"",
            "ACCOUNT_INTL_SHUTDOWN_MODE=\"sometimes\"",
            "ACCOUNT_INTL_LEVEL2_ACTIONS=\"shutdown\"",
            "ACCOUNT_CN_FREE_RESOURCE_IDS=\"pkg cn\"",
        ] {
            assert!(text.contains(v), "{v} in {text}");
        }
        // Not reported under the global names.
        assert!(!text.contains("  - SHUTDOWN_MODE"), "{text}");
    }

    #[test]
    fn keys_and_packages_written_globally_next_to_accounts_are_errors() {
        let e = cfg(&with(&[
            ("HUAWEICLOUD_SDK_AK", "old"),
            ("FREE_RESOURCE_IDS", "x"),
        ]))
        .unwrap_err();
        let text = problems(&e);
        assert!(
            text.contains("HUAWEICLOUD_SDK_AK: cannot be used together with ACCOUNTS"),
            "{text}"
        );
        assert!(
            text.contains("fix: move it to ACCOUNT_<NAME>_FREE_RESOURCE_IDS"),
            "{text}"
        );
        assert!(!text.contains("old"), "{text}");
    }

    #[test]
    fn a_package_in_two_accounts_is_an_error() {
        let e = cfg(&with(&[(
            "ACCOUNT_INTL_FREE_RESOURCE_IDS",
            "pkg-i1,pkg-cn",
        )]))
        .unwrap_err();
        let text = problems(&e);
        assert!(
            text.contains(
                "ACCOUNT_INTL_FREE_RESOURCE_IDS=\"pkg-cn\": is a package of account cn too"
            ),
            "{text}"
        );
    }

    #[test]
    fn an_account_without_keys_or_packages_is_named_by_the_polling_check() {
        let c = cfg(&[
            ("ACCOUNTS", "cn,intl"),
            ("ACCOUNT_CN_HUAWEICLOUD_SDK_AK", "a"),
            ("ACCOUNT_CN_HUAWEICLOUD_SDK_SK", "s"),
            ("ACCOUNT_CN_FREE_RESOURCE_IDS", "p"),
        ])
        .unwrap();
        let e = c.require_for_serve().unwrap_err();
        let text = problems(&e);
        assert_eq!(e.0.len(), 3, "{text}");
        assert!(text.contains("ACCOUNT_INTL_HUAWEICLOUD_SDK_AK: is not set; fix: put the Access Key ID of account intl"), "{text}");
        assert!(
            text.contains("ACCOUNT_INTL_FREE_RESOURCE_IDS：未设置"),
            "{text}"
        );
        assert!(text.contains("ACCOUNT_INTL_HUAWEICLOUD_SDK_SK"), "{text}");
    }

    #[test]
    fn account_names_are_checked() {
        for bad in ["cn_2", "x,x", ",", "a-b", "abcdefghijklmnopq"] {
            let e = cfg(&[("ACCOUNTS", bad)]).unwrap_err();
            assert!(problems(&e).contains("ACCOUNTS"), "{bad}: {e}");
        }
    }

    #[test]
    fn secrets_of_accounts_never_print() {
        let c = cfg(TWO).unwrap();
        let shown = format!(
            "{:?}{}{:?}",
            c,
            serde_json::to_string(&c).unwrap(),
            c.effective()
        );
        for secret in ["sk-cn-secret", "sk-intl-secret", "ak-intl"] {
            assert!(!shown.contains(secret), "{secret}");
        }
        assert!(c.effective().contains(&(
            "ACCOUNT_INTL_HUAWEICLOUD_SDK_SK".into(),
            "[redacted]".into()
        )));
        assert!(c
            .effective()
            .contains(&("ACCOUNT_INTL_SHUTDOWN_MODE".into(), "off".into())));
        // A mistake in a secret's value does not repeat it either.
        let e = cfg(&with(&[(
            "ACCOUNT_CNN_HUAWEICLOUD_SDK_SK",
            "sk-typo-secret",
        )]))
        .unwrap_err();
        assert!(!problems(&e).contains("sk-typo-secret"));
    }
}
