//! The command line (clap): commands and their flags. Only parsing lives here; `commands` runs them.

use clap::{Arg, CommandFactory, Parser, Subcommand};

use crate::messages::Lang;

/// Keeps a Huawei Cloud Flexus L server inside its free monthly traffic.
///
/// Configuration comes from environment variables and from a `.env` file in the working directory
/// (the same variables as the original Python script). Run `flexus-traffic-monitor config` to check it.
#[derive(Debug, Parser)]
#[command(name = "flexus-traffic-monitor", version, about, long_about = None, after_help = variables_help())]
pub struct Cli {
    /// Read this env file instead of `./.env` (variables already set in the environment win).
    #[arg(long, global = true, value_name = "FILE")]
    pub env_file: Option<std::path::PathBuf>,

    #[command(subcommand)]
    pub command: Command,
}

/// Every configuration variable with its default and use, from the configuration's table so that
/// it cannot drift (README.md and `.env.example` explain each; a test checks they agree).
pub fn variables_help() -> String {
    variables_help_in(Lang::En)
}

/// [`variables_help`] in `lang`.
pub fn variables_help_in(lang: Lang) -> String {
    let mut out = crate::config::vars::help_in(lang);
    out.push_str(match lang {
        Lang::Zh => "\n每个变量的详细说明见 README.zh-CN.md 和 .env.example；`config` 打印生效的值。",
        Lang::En => "\nSee README.md and .env.example for what each one does; `config` prints the values in effect.",
    });
    out
}

/// The command line with its help in `lang` (`MESSAGE_LANG`, Chinese by default): the same
/// commands and flags, only the texts a person reads differ. The English texts are the doc
/// comments above.
pub fn command(lang: Lang) -> clap::Command {
    let cmd = Cli::command().after_help(variables_help_in(lang));
    match lang {
        Lang::En => cmd,
        Lang::Zh => in_chinese(cmd),
    }
}

/// Parses the process arguments with the help in `lang`; exits (as clap does) on `--help`,
/// `--version` or a mistake.
pub fn parse(lang: Lang) -> Cli {
    use clap::FromArgMatches;
    let matches = command(lang).get_matches();
    Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit())
}

/// `(command, about, long about, [(flag, help)])` in Chinese.
type ZhCommand = (
    &'static str,
    &'static str,
    Option<&'static str>,
    &'static [(&'static str, &'static str)],
);

const ZH_COMMANDS: &[ZhCommand] = &[
    (
        "serve",
        "运行守护进程：查询、/metrics、/alertmanager、兜底评估",
        None,
        &[(
            "web_config_file",
            "Web 配置文件（Prometheus exporter-toolkit 格式：TLS、基本认证、响应头），与 node_exporter 的同名参数相同；优先于 WEB_CONFIG_FILE",
        )],
    ),
    (
        "check",
        "查询一次，打印读数后退出（可直接替代原脚本的 cron 任务）",
        Some("查询一次，打印读数后退出（可直接替代原脚本的 cron 任务）。\n\n与 `serve` 使用同样的状态和告警节奏：到时间就发消息；低于 THRESHOLD_LEVEL_1 时运行关机守卫（倒计时、重新查询、执行动作）。\n\n退出码：0 每个资源包都读到了；1 配置错误；2 无法查询 BSS；3 部分资源包读取失败；4 STATE_DIR 不可用或被占用；5 关机失败。"),
        &[
            ("json", "输出 JSON 而不是表格"),
            ("no_send", "把消息打印到标准错误，而不是发到 Telegram 或任何渠道（试配置时不打扰任何人）"),
        ],
    ),
    (
        "discover",
        "列出账号的免费资源包，并打印现成的 FREE_RESOURCE_IDS= 一行",
        None,
        &[("json", "输出 JSON 而不是表格")],
    ),
    (
        "lift",
        "解除本程序的所有限速和隔离（它的 qdisc、nft 表、iptables 链），并运行生效中动作的离开命令；别的都不碰。解除的动作在其级别恢复一次之前不会再启用",
        None,
        &[],
    ),
    ("notify-test", "向每个已配置的渠道发一条测试消息，并原样打印各渠道的应答", None, &[]),
    (
        "demo",
        "在模拟的云上运行整个流程（无需账号）：一个资源包在约一分钟内依次经过每个级别；消息打印出来；关机只是演练",
        None,
        &[("speed", "把场景加快这么多倍")],
    ),
    (
        "hash-password",
        "打印密码的 bcrypt 哈希，用于 Web 配置文件中的 basic_auth_users（在终端上输入两次，否则读取标准输入的第一行）",
        None,
        &[("cost", "bcrypt 代价，4 到 31；为 10 时每次登录校验约 70 毫秒")],
    ),
    (
        "config",
        "检查并打印生效的配置（秘密已隐去）",
        None,
        &[("json", "输出 JSON 而不是逐行文本")],
    ),
];

/// The Chinese help: about texts, flag helps, headings, and the built-in `-h`, `-V` and `help`
/// (changed once clap has added them).
fn in_chinese(cmd: clap::Command) -> clap::Command {
    let template = "{before-help}{about-with-newline}\n用法：{usage}\n\n{all-args}{after-help}";
    let help_flag = |a: Arg| {
        a.help("打印帮助（--help 显示更多）")
            .long_help("打印帮助（-h 只显示摘要）")
            .help_heading("选项")
    };
    let mut cmd = cmd
        .about("让华为云 Flexus L 服务器保持在每月的免费流量之内")
        .help_template(template)
        .subcommand_help_heading("命令")
        .mut_arg("env_file", |a| {
            a.help("读取这个 env 文件，而不是 `./.env`（环境中已设置的变量优先）")
                .help_heading("选项")
        });
    for (name, about, long_about, flags) in ZH_COMMANDS {
        // A command or flag renamed since keeps its English text rather than panicking here (a
        // unit test asks every command and flag for its Chinese text).
        if cmd.find_subcommand(name).is_none() {
            continue;
        }
        cmd = cmd.mut_subcommand(*name, |mut s| {
            s = s.about(*about).help_template(template);
            if let Some(long) = long_about {
                s = s.long_about(*long);
            }
            for (flag, help) in *flags {
                if s.get_arguments().any(|a| a.get_id() == flag) {
                    s = s.mut_arg(*flag, |a| a.help(*help).help_heading("选项"));
                }
            }
            s
        });
    }
    cmd.build();
    cmd = cmd
        .mut_arg("help", help_flag)
        .mut_arg("version", |a| a.help("打印版本").help_heading("选项"))
        .mut_subcommand("help", |s| s.about("打印本帮助，或指定子命令的帮助"));
    let names: Vec<String> = cmd
        .get_subcommands()
        .filter(|s| s.get_name() != "help")
        .map(|s| s.get_name().to_string())
        .collect();
    for name in names {
        cmd = cmd.mut_subcommand(name, |s| s.mut_arg("help", help_flag));
    }
    cmd
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the daemon: poller, /metrics, /alertmanager, fallback evaluator.
    Serve {
        /// The web configuration file (Prometheus exporter-toolkit format: TLS, basic auth, response
        /// headers), as node_exporter's flag of the same name; overrides WEB_CONFIG_FILE.
        #[arg(long = "web.config.file", value_name = "FILE")]
        web_config_file: Option<std::path::PathBuf>,
    },
    /// Poll once, print the readings and exit (a drop-in for the original's cron job).
    ///
    /// Uses the same state and cadence as `serve`: messages are sent when due, and below
    /// THRESHOLD_LEVEL_1 the shutdown guard runs (countdown, fresh re-check, action).
    ///
    /// Exit codes: 0 every package read; 1 configuration error; 2 BSS could not be polled;
    /// 3 some packages could not be read; 4 STATE_DIR unusable or busy; 5 the shutdown failed.
    Check {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
        /// Print the messages on standard error instead of sending them to Telegram or any
        /// channel (to try a configuration without waking anyone).
        #[arg(long)]
        no_send: bool,
    },
    /// List the account's free resource packages and print a ready FREE_RESOURCE_IDS= line.
    Discover {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Remove every throttle and fence of this program (its qdisc, nft table, iptables chain) and
    /// run the leave command of an action in force; nothing else is touched. What was lifted is not
    /// put back until its level has recovered once.
    Lift,
    /// Send a test message to every configured channel and print exactly what each answered.
    NotifyTest,
    /// Run the whole pipeline against a simulated cloud (no account needed): a package drains
    /// through every level in about a minute; messages are printed; the shutdown is a dry run.
    Demo {
        /// Run the scenario this many times faster.
        #[arg(long, default_value_t = 1.0)]
        speed: f64,
    },
    /// Print the bcrypt hash of a password, for basic_auth_users in the web configuration file
    /// (asked twice on a terminal, else the first line of standard input).
    HashPassword {
        /// bcrypt cost, 4 to 31; each login check takes about 70 ms at 10.
        #[arg(long, default_value_t = 10)]
        cost: u32,
    },
    /// Validate and print the effective configuration, secrets redacted.
    Config {
        /// Print JSON instead of lines.
        #[arg(long)]
        json: bool,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every command and every flag of the command line has its Chinese text (the default
    /// language of `--help`): a new one without it fails here, not in front of a user.
    #[test]
    fn every_command_and_flag_has_its_chinese_help() {
        let english = Cli::command();
        for sub in english.get_subcommands() {
            let zh = ZH_COMMANDS
                .iter()
                .find(|(name, ..)| *name == sub.get_name());
            let Some((_, _, _, flags)) = zh else {
                panic!(
                    "add the command {} to ZH_COMMANDS in cli.rs",
                    sub.get_name()
                );
            };
            for arg in sub.get_arguments() {
                let id = arg.get_id().as_str();
                if id == "env_file" || arg.is_global_set() {
                    continue;
                }
                assert!(
                    flags.iter().any(|(flag, _)| *flag == id),
                    "add the flag {id} of {} to ZH_COMMANDS in cli.rs",
                    sub.get_name()
                );
            }
        }
        command(Lang::Zh).debug_assert();
        command(Lang::En).debug_assert();
    }
}
