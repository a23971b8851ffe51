//! The instance a traffic package belongs to: what `SHUTDOWN_MODE=huawei-api` stops and
//! `AUTO_START` starts. A domain type shared by configuration, the ECS client, the guard and the
//! state file; it depends on nothing in this crate.

use serde::{Deserialize, Serialize};

/// A Flexus L instance as the ECS API knows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Target {
    /// Shown in messages and in the `server` label.
    pub name: String,
    pub server_id: String,
    pub region: String,
    pub project_id: String,
}
