//! The Chinese of the variable table's texts for `--help` (`MESSAGE_LANG=zh`, the default): the
//! section titles, the defaults that are descriptions, and each variable's line. A unit test
//! checks that every variable of [`super::VARS`] has its line here.

use super::vars::Section;

/// A section's title in Chinese.
pub fn title(section: Section) -> &'static str {
    match section {
        Section::Huawei => "华为云",
        Section::Watch => "资源包与查询",
        Section::Alerting => "告警",
        Section::Notify => "通知",
        Section::Shutdown => "关机与开机",
        Section::Http => "HTTP 服务",
        Section::Actions => "各级动作（限速、隔离、命令）",
        Section::General => "通用",
    }
}

/// A default written as a description, in Chinese; a value is shown as it is.
pub fn default(text: &str) -> &str {
    match text {
        "(not set)" => "（未设置）",
        "(none)" => "（无）",
        "(not set: one account)" => "（未设置：单个账号）",
        "(the default route's interface)" => "（默认路由的网卡）",
        "(the watched package, when there is one)" => "（只监控一个资源包时即为它）",
        "(the site's endpoint)" => "（站点对应的地址）",
        "(the only watched package)" => "（唯一被监控的资源包）",
        "(https://sctapi.ftqq.com, or the sctp key's host)" => {
            "（https://sctapi.ftqq.com，或 sctp 开头的 key 对应的主机）"
        }
        "(anyone in the chat)" => "（聊天中的任何人）",
        "(SMTP_USERNAME when it is an address)" => "（SMTP_USERNAME 是邮箱地址时即为它）",
        "(587 for starttls, 465 for tls, 25 for none)" => {
            "（starttls 用 587，tls 用 465，none 用 25）"
        }
        "(3 × POLL_INTERVAL, at least 1h)" => "（3 × POLL_INTERVAL，至少 1h）",
        "($STATE_DIRECTORY, else ./state)" => "（$STATE_DIRECTORY，否则 ./state）",
        other => other,
    }
}

/// A variable's line for `--help`, in Chinese.
pub fn help(name: &str) -> Option<&'static str> {
    Some(match name {
        "ACCOUNTS" => "多个账号，例如 `cn,intl`；每个账号设置 ACCOUNT_<NAME>_<VARIABLE>（密钥、站点、资源包、关机方式）",
        "HUAWEICLOUD_SDK_AK" => "访问密钥 ID（AK）；该 IAM 用户需要 BSS ReadonlyAccess 权限",
        "HUAWEICLOUD_SDK_SK" => "秘密访问密钥（SK）",
        "HUAWEICLOUD_SDK_DOMAIN_ID" => "账号（domain）ID；作为 X-Domain-Id 发送，使 RMS 能找到实例",
        "HUAWEICLOUD_SITE" => "cn（中国站）、intl（国际站）或 eu（欧洲站）；决定 BSS 地址",
        "HUAWEICLOUD_BSS_ENDPOINT" => "完整的 BSS 基础地址；优先于 HUAWEICLOUD_SITE",
        "HUAWEICLOUD_REGION" => "ECS_SERVER_ID 所在的区域，例如 ap-southeast-1",
        "HUAWEICLOUD_PROJECT_ID" => "该区域的项目 ID",
        "HUAWEICLOUD_ECS_ENDPOINT" => "ECS 地址；{region} 会替换为实例所在区域",
        "HUAWEICLOUD_CES_ENDPOINT" => "云监控（Cloud Eye）地址；{region} 会替换为 EIP 所在区域",
        "HUAWEICLOUD_RMS_ENDPOINT" => "RMS 地址（按资源包查找实例）",
        "FREE_RESOURCE_IDS" => "要监控的流量包 ID，用逗号分隔（`discover` 会打印）",
        "SERVER_NAME" => "显示在每条消息和指标的 server 标签中",
        "POLL_INTERVAL" => "调用 BSS 的间隔；抓取指标从不调用 BSS",
        "EGRESS_COUNTER" => "读取本机的出流量计数器，并按锚定到账单的估算动作（on/off）",
        "EGRESS_INTERFACE" => "统计发送字节数的公网网卡（不会是 lo、docker*、veth*、br-*）",
        "EGRESS_SAMPLE_INTERVAL" => "读取计数器的间隔（最多 2s；一级的余量是它乘以峰值速率）",
        "EGRESS_BILL_LAG" => "从数据中学到账单延迟之前，假定的账单延迟（最多 6h）",
        "EGRESS_PACKAGE" => "监控多个资源包时，计数器锚定到哪个资源包的账单",
        "CLOUDEYE_EIPS" => "通过 API 保护的服务器：从云监控实时读取其 EIP 的出流量，PACKAGE_ID:PUBLICIP_ID[:REGION:PROJECT_ID],...",
        "CLOUDEYE_INTERVAL" => "每个 EIP 读取云监控的间隔（原始数据每分钟一个点；被限流后更长）",
        "READING_MAX_AGE" => "查询失败后，上一次有效读数保留这么久",
        "MAX_EGRESS_RATE" => "服务器最快的发送速率（tc 单位）；剩余流量下降得更快时，等下一次读数确认后才采信",
        "POLL_FAILURES_BEFORE_ALERT" => "连续失败多少次查询后发送消息",
        "ECS_SERVER_ID" => "所有被监控资源包所属的 ECS 服务器（仅一台服务器时）",
        "FLEXUS_INSTANCES" => "多台服务器：PACKAGE_ID:ECS_SERVER_ID:NAME[:REGION:PROJECT_ID],...",
        "THRESHOLD_LEVEL_1" => "GB；低于它时关机",
        "THRESHOLD_LEVEL_2" => "GB；低于它时每隔 LEVEL2_REPEAT 重复告警",
        "THRESHOLD_LEVEL_3" => "GB；低于它时每隔 LEVEL3_REPEAT 重复告警",
        "DEBUG_MODE" => "true|1|t：详细日志，不限告警节奏；从不关闭安全措施",
        "LEVEL3_REPEAT" => "三级告警最多这么频繁",
        "LEVEL2_REPEAT" => "二级（以及持续中的一级）告警的间隔",
        "DAILY_REPORT" => "资源包高于 THRESHOLD_LEVEL_3 时每天一份报告（设置 DAILY_DIGEST_AT 时由每日摘要代替）",
        "RESET_REPORTS" => "每个周期重置前约 24 小时发一份报告，重置后再发一份，发到每个渠道",
        "DAILY_DIGEST_AT" => "每天在这个本地时刻（HH:MM，例如 09:00）发送摘要（完整报告）；代替 DAILY_REPORT",
        "REPORT_TIMEZONE" => "DAILY_DIGEST_AT 和报告中日期所用的时区：local（系统时区，TZ）、UTC 或 +08:00 这样的偏移",
        "FALLBACK" => "auto（除非收到看门狗告警，否则在这里判断）、always 或 never",
        "WATCHDOG_TIMEOUT" => "一次看门狗心跳让兜底评估保持安静的时长",
        "TELEGRAM_BOT_TOKEN" => "来自 @BotFather 的机器人令牌",
        "TELEGRAM_CHAT_ID" => "消息发往的聊天（数字 ID 或 @频道）",
        "TELEGRAM_API_URL" => "Telegram Bot API 基础地址",
        "TELEGRAM_THREAD_ID" => "发到论坛的哪个话题",
        "TELEGRAM_COMMANDS" => "在 TELEGRAM_CHAT_ID 中应答 /status、/cancel、/resume、/start、/mute（长轮询，无需公网地址）",
        "TELEGRAM_ALLOWED_USERS" => "允许发命令的 Telegram 用户 ID，用逗号分隔",
        "TELEGRAM_CANCEL_FOR" => "一次 /cancel 最多持续这么久（资源包级别下次变化时也会结束）",
        "NOTIFY_WEBHOOK_URL" => "通用 JSON webhook 地址（消息体有文档，可选 HMAC 签名）",
        "NOTIFY_WEBHOOK_SECRET" => "给 webhook 消息体签名：X-Flexus-Signature: sha256=HMAC",
        "FEISHU_WEBHOOK_URL" => "飞书自定义机器人的 hook 地址",
        "FEISHU_SECRET" => "飞书签名密钥（开启签名校验时）",
        "DINGTALK_WEBHOOK_URL" => "钉钉自定义机器人地址，带 access_token",
        "DINGTALK_SECRET" => "钉钉加签密钥 SEC...（开启加签时）",
        "WECOM_WEBHOOK_URL" => "企业微信群机器人地址，带 key",
        "SERVERCHAN_SENDKEY" => "Server酱 Turbo 的 SendKey",
        "SERVERCHAN_API_URL" => "Server酱 基础地址，仅在使用中转时设置",
        "PUSHPLUS_TOKEN" => "PushPlus 令牌",
        "PUSHPLUS_API_URL" => "PushPlus 基础地址，仅在使用中转时设置",
        "BARK_URL" => "Bark 应用显示的设备地址（https://api.day.app/KEY）",
        "SMTP_HOST" => "邮件渠道的 SMTP 服务器（例如 smtp.qq.com）；设置后即启用邮件",
        "SMTP_PORT" => "SMTP 端口",
        "SMTP_TLS" => "starttls（端口 587 或 25）、tls（隐式 TLS，端口 465；SMTP_PORT=465 时的默认值）或 none（仅限本机的中继）；与 SMTP_PORT 不配的方式会被拒绝",
        "SMTP_USERNAME" => "SMTP 登录名（通常就是邮箱地址）；无需登录的中继不要设置",
        "SMTP_PASSWORD" => "SMTP 密码（通常是应用专用密码或授权码）",
        "SMTP_FROM" => "发件人：alerts@example.com 或 Name <alerts@example.com>",
        "SMTP_TO" => "收件人，用逗号分隔",
        "SMTP_TIMEOUT" => "一次邮件投递（连接、TLS、登录、发送）直到服务器答复的时限",
        "SMTP_CA_FILE" => "额外信任的根证书 PEM 文件（自带 CA 的中继）；检查配置时读取",
        "MESSAGE_LANG" => "zh（中文）或 en（英文）：消息、状态页和各命令输出的语言",
        "SHUTDOWN_MODE" => "command（运行 SHUTDOWN_COMMAND）、huawei-api（通过 ECS 停止）或 off（只通知）",
        "SHUTDOWN_COMMAND" => "程序和参数，不经过 shell 运行",
        "SHUTDOWN_IN_CONTAINER" => "true：在容器内也接受 SHUTDOWN_MODE=command 搭配普通关机命令（仅当它确实会关掉宿主机时）",
        "SHUTDOWN_DELAY" => "关机前的倒计时（期间发警告），之后再查一次并关机",
        "SHUTDOWN_COMMAND_TIMEOUT" => "关机命令超过这个时长仍在运行就停止它并报告",
        "SHUTDOWN_REPEAT_AFTER_BOOT" => "同一周期内开机后再次关机（与原脚本一致）",
        "DRY_RUN" => "除关机本身外，其他都照做",
        "ECS_STOP_TYPE" => "SOFT（操作系统关机）或 HARD（强制断电）",
        "ECS_HARD_STOP_AFTER" => "SOFT 停止在这个时长内没有完成时，改用 HARD 停止",
        "ECS_JOB_TIMEOUT" => "跟踪一个停止或启动任务的时长",
        "AUTO_START" => "周期重置后启动本程序停掉的服务器（huawei-api）",
        "LISTEN_ADDR" => "/metrics、/alertmanager 和 /api/v1/status 的地址",
        "WEBHOOK_TOKEN" => "Alertmanager 发到 POST /alertmanager 的令牌；不只监听本机时必须设置",
        "STATUS_TOKEN" => "只读令牌：设置后状态页和只读接口（/api/v1/*）要求提供它",
        "LEVEL1_ACTIONS" => "一级时做什么，用逗号分隔：shutdown、throttle、fence、command（留空：只通知）",
        "LEVEL2_ACTIONS" => "二级时做什么：throttle、fence、command；一级时同样生效",
        "LEVEL3_ACTIONS" => "三级时做什么：throttle、fence、command；二级和一级时同样生效",
        "LOCAL_FREE_RESOURCE_IDS" => "运行本程序的服务器的资源包：只有它们的级别会触发本机的 throttle、fence 和 command；写 none 表示没有",
        "THROTTLE_RATE" => "throttle 的出流量上限，tc 单位（kbit、mbit……）",
        "THROTTLE_INTERFACE" => "throttle 限制其出流量的网卡",
        "SSH_PORTS" => "SSH 端口，用逗号分隔：从不限速，从不隔离",
        "FENCE_ALLOW_PORTS" => "隔离时额外保持开放的入站端口：443 或 tcp/443、udp/51820（LISTEN_ADDR 的端口始终开放）",
        "FENCE_BACKEND" => "auto（装了 nft 就用 nft，否则 iptables）、nft 或 iptables",
        "ACTION_ENTER_COMMAND" => "进入含 `command` 的级别时运行的命令（不经过 shell；设置 FLEXUS_LEVEL）",
        "ACTION_LEAVE_COMMAND" => "该级别解除时运行的命令",
        "ACTION_TIMEOUT" => "每个 tc、nft、iptables 或动作命令超过这个时长就停止",
        "HTTP_TIMEOUT" => "每次对外 HTTP 调用的超时",
        "LOG_FORMAT" => "text（按行；只在终端上着色，设置 NO_COLOR 时从不着色）或 json（每行一个对象）",
        "WEB_CONFIG_FILE" => "Web 配置文件（exporter-toolkit 格式：TLS、基本认证、响应头）；serve --web.config.file 优先于它",
        "STATE_DIR" => "状态、发件箱和锁所在的目录；不要用临时目录",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::super::vars::VARS;

    /// A new variable needs its line for the Chinese `--help` here (the default language).
    #[test]
    fn every_variable_has_its_chinese_help_line() {
        let missing: Vec<&str> = VARS
            .iter()
            .filter(|v| super::help(v.name).is_none())
            .map(|v| v.name)
            .collect();
        assert!(
            missing.is_empty(),
            "add a Chinese line to config/vars_zh.rs for {missing:?}"
        );
    }
}
