//! Why the policy refuses an actor something: each refusal names the rule and
//! the article it comes from, in English for scripts and logs and in Japanese
//! for pages.

/// Why the policy refuses; the message is shown to the person and logged.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum Refusal {
    #[error("live view is not allowed by this installation's policy ({basis})")]
    LiveViewForbidden { basis: String },
    #[error("no valid designation: {0}")]
    NotDesignated(String),
    #[error("your role ({title}) may not do this ({permission})")]
    RoleLacks {
        title: String,
        permission: &'static str,
    },
    #[error(
        "this terminal ({origin}) is not registered for {permission}; use {terminals} ({basis})"
    )]
    Terminal {
        origin: String,
        permission: &'static str,
        terminals: String,
        basis: String,
    },
    #[error("no open instruction from the manager covers this camera and time ({basis})")]
    NoInstruction { basis: String },
}

impl Refusal {
    /// The same message in Japanese, for the UI.
    pub fn ja(&self) -> String {
        match self {
            Refusal::LiveViewForbidden { basis } => {
                format!("この設置者の規程ではライブ映像を表示できません（{basis}）")
            }
            Refusal::NotDesignated(why) => format!("有効な指定がありません: {why}"),
            Refusal::RoleLacks { title, permission } => {
                format!("{title}の役割ではこの操作（{permission}）はできません")
            }
            Refusal::Terminal {
                origin,
                permission,
                terminals,
                basis,
            } => format!(
                "この端末（{origin}）は{permission}の端末として登録されていません。{terminals}の端末を使ってください（{basis}）"
            ),
            Refusal::NoInstruction { basis } => {
                format!(
                    "このカメラ・期間についての管理責任者からの有効な指示がありません（{basis}）"
                )
            }
        }
    }
}
