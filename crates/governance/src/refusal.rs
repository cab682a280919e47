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
    #[error("footage leaves only through an approved request for provision ({basis})")]
    OnlyThroughProvision { basis: String },
    #[error("only the manager decides a request, in their own account ({basis})")]
    ManagerDecides { basis: String },
    #[error(
        "request No.{request} is {status}: footage is extracted only after the manager approved it ({basis})"
    )]
    NotApproved {
        request: i64,
        status: String,
        basis: String,
    },
    #[error("request No.{request} was approved for {approved}; this is outside it")]
    OutsideApproval { request: i64, approved: String },
    #[error("the manager named another person to extract request No.{request}")]
    NotTheExtractor { request: i64 },
    #[error("no agreement in force with {station} covers this camera and period ({basis})")]
    NoAgreement { station: String, basis: String },
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
            Refusal::NoAgreement { station, basis } => {
                format!(
                    "このカメラ・期間について、{station}との有効な協定がありません（停止中・期間外を含みます。{basis}）"
                )
            }
            Refusal::NoInstruction { basis } => {
                format!(
                    "このカメラ・期間についての管理責任者からの有効な指示がありません（{basis}）"
                )
            }
            Refusal::OnlyThroughProvision { basis } => {
                format!("画像の持ち出しは、承認された提供申請によってのみ行えます（{basis}）")
            }
            Refusal::ManagerDecides { basis } => {
                format!("提供の可否は管理責任者が本人のアカウントで決定します（{basis}）")
            }
            Refusal::NotApproved {
                request,
                status,
                basis,
            } => format!(
                "提供申請 No.{request} は「{status}」です。画像の抽出は管理責任者の承認後に限られます（{basis}）"
            ),
            Refusal::OutsideApproval { request, approved } => {
                format!("提供申請 No.{request} で承認された範囲（{approved}）の外です")
            }
            Refusal::NotTheExtractor { request } => {
                format!("提供申請 No.{request} の抽出は管理責任者が指名した者が行います")
            }
        }
    }
}
