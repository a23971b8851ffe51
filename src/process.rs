//! The standard `process_*` metrics (CPU, memory, file descriptors, start time, threads) of this
//! process, read from `/proc/self` at each scrape, with the names and meanings of the Prometheus
//! client libraries' process collector, so that dashboards made for any exporter work here.
//!
//! Why not the `prometheus` crate's `process` feature: it pulls in `procfs` and registers a
//! collector that is read whenever the registry is gathered, which would defeat the cached
//! `/metrics` body (see `metrics`); these few figures are appended to it instead. Parsing is pure
//! and unit-tested; only [`read`] touches the file system. On systems without `/proc` nothing is
//! rendered (never a zero).

use std::fmt::Write as _;

/// `USER_HZ`, the unit of the CPU times in `/proc/<pid>/stat`: 100 on every architecture Linux
/// runs on today (it is fixed in the kernel's ABI; `sysconf(_SC_CLK_TCK)` returns it). Reading it
/// through `sysconf` would need `unsafe` or a new dependency for a constant.
pub const USER_HZ: f64 = 100.0;

/// What `/proc/self` says about this process.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ProcessStats {
    pub cpu_seconds: Option<f64>,
    pub resident_memory_bytes: Option<f64>,
    pub virtual_memory_bytes: Option<f64>,
    pub open_fds: Option<f64>,
    pub max_fds: Option<f64>,
    pub start_time_seconds: Option<f64>,
    pub threads: Option<f64>,
}

/// The fields of `/proc/<pid>/stat` after the command name (which may hold spaces and
/// parentheses, so the text is cut at the last `)`): `(utime, stime, starttime, vsize)`, CPU times
/// and start time in clock ticks, vsize in bytes.
pub fn parse_stat(stat: &str) -> Option<(u64, u64, u64, u64)> {
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // `rest` starts at field 3 (state); utime is field 14, stime 15, starttime 22, vsize 23.
    let at = |n: usize| fields.get(n - 3)?.parse::<u64>().ok();
    Some((at(14)?, at(15)?, at(22)?, at(23)?))
}

/// A `Name:   value kB` line of `/proc/<pid>/status`, as a number (kB converted to bytes).
pub fn parse_status_field(status: &str, name: &str) -> Option<f64> {
    let line = status.lines().find(|l| l.split(':').next() == Some(name))?;
    let mut words = line.split(':').nth(1)?.split_whitespace();
    let n: f64 = words.next()?.parse().ok()?;
    Some(match words.next() {
        Some("kB") => n * 1024.0,
        _ => n,
    })
}

/// The soft limit of open files in `/proc/<pid>/limits` (`unlimited` gives none).
pub fn parse_max_fds(limits: &str) -> Option<f64> {
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line["Max open files".len()..]
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// The boot time (`btime`, Unix seconds) in `/proc/stat`.
pub fn parse_boot_time(proc_stat: &str) -> Option<f64> {
    proc_stat
        .lines()
        .find_map(|l| l.strip_prefix("btime "))?
        .trim()
        .parse()
        .ok()
}

/// Builds the figures from the texts of `/proc/self/stat`, `/proc/self/status`,
/// `/proc/self/limits` and `/proc/stat`, and the number of open descriptors. Pure.
pub fn from_texts(
    stat: Option<&str>,
    status: Option<&str>,
    limits: Option<&str>,
    proc_stat: Option<&str>,
    open_fds: Option<usize>,
) -> ProcessStats {
    let parsed = stat.and_then(parse_stat);
    let boot = proc_stat.and_then(parse_boot_time);
    ProcessStats {
        cpu_seconds: parsed.map(|(u, s, _, _)| (u + s) as f64 / USER_HZ),
        virtual_memory_bytes: parsed.map(|(_, _, _, v)| v as f64),
        start_time_seconds: parsed
            .zip(boot)
            .map(|((_, _, start, _), boot)| boot + start as f64 / USER_HZ),
        resident_memory_bytes: status.and_then(|s| parse_status_field(s, "VmRSS")),
        threads: status.and_then(|s| parse_status_field(s, "Threads")),
        max_fds: limits.and_then(parse_max_fds),
        open_fds: open_fds.map(|n| n as f64),
    }
}

/// Reads this process's figures now.
pub fn read() -> ProcessStats {
    let text = |p: &str| std::fs::read_to_string(p).ok();
    let fds = std::fs::read_dir("/proc/self/fd")
        .ok()
        .map(|d| d.count().saturating_sub(1)); // the directory's own descriptor
    from_texts(
        text("/proc/self/stat").as_deref(),
        text("/proc/self/status").as_deref(),
        text("/proc/self/limits").as_deref(),
        text("/proc/stat").as_deref(),
        fds,
    )
}

/// The figures in the Prometheus text format; figures that could not be read are left out.
pub fn render(p: &ProcessStats) -> String {
    let mut out = String::new();
    let families: [(&str, &str, &str, Option<f64>); 7] = [
        (
            "process_cpu_seconds_total",
            "counter",
            "Total user and system CPU time spent in seconds.",
            p.cpu_seconds,
        ),
        (
            "process_max_fds",
            "gauge",
            "Maximum number of open file descriptors.",
            p.max_fds,
        ),
        (
            "process_open_fds",
            "gauge",
            "Number of open file descriptors.",
            p.open_fds,
        ),
        (
            "process_resident_memory_bytes",
            "gauge",
            "Resident memory size in bytes.",
            p.resident_memory_bytes,
        ),
        (
            "process_start_time_seconds",
            "gauge",
            "Start time of the process since unix epoch in seconds.",
            p.start_time_seconds,
        ),
        (
            "process_threads",
            "gauge",
            "Number of OS threads in the process.",
            p.threads,
        ),
        (
            "process_virtual_memory_bytes",
            "gauge",
            "Virtual memory size in bytes.",
            p.virtual_memory_bytes,
        ),
    ];
    for (name, kind, help, value) in families {
        if let Some(v) = value {
            let _ = write!(
                out,
                "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {v}\n"
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const STAT: &str = "937 (cat (x) y) R 934 934 8902 0 -1 4194304 100 0 0 0 250 50 0 0 20 0 3 0 210467 3133440 380 18446744073709551615 0";

    #[test]
    fn the_stat_line_is_read_past_a_command_name_with_spaces_and_parentheses() {
        assert_eq!(parse_stat(STAT), Some((250, 50, 210467, 3133440)));
        assert_eq!(parse_stat("937 (cat) R 1 2"), None);
        assert_eq!(parse_stat("garbage"), None);
    }

    #[test]
    fn figures_come_from_proc_texts_and_missing_ones_stay_unknown() {
        let status = "Name:\tcat\nVmRSS:\t    1944 kB\nThreads:\t3\n";
        let limits = "Limit  Soft Limit Hard Limit Units\nMax open files            1024                 4096                 files     \n";
        let p = from_texts(
            Some(STAT),
            Some(status),
            Some(limits),
            Some("cpu 1 2 3\nbtime 1796483411\n"),
            Some(7),
        );
        assert_eq!(p.cpu_seconds, Some(3.0));
        assert_eq!(p.resident_memory_bytes, Some(1944.0 * 1024.0));
        assert_eq!(p.threads, Some(3.0));
        assert_eq!(p.max_fds, Some(1024.0));
        assert_eq!(p.virtual_memory_bytes, Some(3133440.0));
        assert_eq!(p.start_time_seconds, Some(1796483411.0 + 2104.67));
        assert_eq!(p.open_fds, Some(7.0));
        let none = from_texts(None, None, None, None, None);
        assert_eq!(none, ProcessStats::default());
        assert_eq!(render(&none), "", "nothing rather than zeros");
        let text = render(&p);
        assert!(text
            .contains("# TYPE process_cpu_seconds_total counter\nprocess_cpu_seconds_total 3\n"));
        assert!(text.contains("process_open_fds 7\n"));
    }

    #[test]
    fn this_process_can_be_read_on_linux() {
        let p = read();
        if std::path::Path::new("/proc/self/stat").exists() {
            assert!(p.cpu_seconds.is_some() && p.resident_memory_bytes.unwrap() > 0.0);
            assert!(p.open_fds.unwrap() >= 3.0 && p.start_time_seconds.unwrap() > 1.6e9);
        }
    }
}
