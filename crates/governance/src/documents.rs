//! Documents generated from the policy the system enforces, so that what is
//! published and what is done cannot drift apart: the installer's regulation
//! (REQ-REG-1, after Chiba 第3-1 and its model regulation: purpose, cameras and
//! sign, manager and operators, where images are seen, retention and erasure,
//! provision, media, complaints, reviews) and the 個人情報ファイル簿 entry for the
//! footage. Laid out by `mimamori_forms::document`.

use mimamori_forms::document::{Document, Section};
use mimamori_policy::{Counting, Permission, RoleKind};

use crate::Governance;
use crate::actor::Actor;
use crate::error::Result;

fn section(heading: impl Into<String>, paragraphs: Vec<String>, items: Vec<String>) -> Section {
    Section {
        heading: heading.into(),
        paragraphs,
        items,
        ..Section::default()
    }
}

/// One camera as the regulation lists it: name（設置場所）, then its purpose and
/// shooting range where described.
fn camera_line(name: &str, d: &mimamori_catalog::CameraDescription) -> String {
    let mut line = name.to_string();
    if !d.location.is_empty() {
        line.push_str(&format!("（{}）", d.location));
    }
    if !d.purpose.is_empty() {
        line.push_str(&format!(" 設置目的: {}", d.purpose));
    }
    if !d.coverage.is_empty() {
        line.push_str(&format!(" 撮影範囲: {}", d.coverage));
    }
    line
}

/// When a document was made, in 和暦 with the Western date and the time.
fn generated_on(t: mimamori_base::Timestamp) -> String {
    format!(
        "{}（{}）",
        mimamori_base::time::japanese_date(t.jst_date()),
        t.jst_minute()
    )
}

impl Governance {
    /// The regulation as the policy makes it (needs `records`).
    pub async fn regulation_document(&self, actor: &Actor) -> Result<Document> {
        self.require(actor, Permission::Records).await?;
        let p = &self.policy;
        let cameras: Vec<String> = self
            .catalog
            .cameras()
            .await?
            .into_iter()
            .filter(|c| c.removed_at.is_none())
            .map(|c| camera_line(&c.name, &c.description))
            .collect();
        let r = &p.records;
        let mut articles = Vec::new();
        articles.push(section(
            "（目的）",
            vec![format!(
                "この規程は、{}が設置する防犯カメラの設置及び運用に関し必要な事項を定め、個人のプライバシーを保護しつつ、次の目的のために適正に運用することを目的とする。",
                p.installer
            )],
            p.purposes
                .iter()
                .map(|x| format!("{}（{}）", x.label, x.basis))
                .collect(),
        ));
        articles.push(section(
            "（設置場所及び台数）",
            vec![format!(
                "防犯カメラは次の場所に{}台設置する。",
                cameras.len()
            )],
            cameras,
        ));
        articles.push(section(
            "（設置の表示）",
            vec![format!(
                "撮影区域の見やすい位置に「{}」と表示する。（{}）",
                r.signage.lines.join("」「"),
                r.signage.basis
            )],
            Vec::new(),
        ));
        articles.push(section(
            "（管理責任者等）",
            vec!["防犯カメラの管理及び運用は、次の者が行う。".into()],
            p.roles
                .iter()
                .filter(|(k, _)| !matches!(k, RoleKind::Auditor | RoleKind::Sysadmin))
                .map(|(_, rule)| format!("{}（{}）", rule.title, rule.basis))
                .collect(),
        ));
        let mut viewing = vec![if p.live_view.allowed {
            format!(
                "画像のモニター視聴は、定められた場所で行う。（{}）",
                p.live_view.basis
            )
        } else {
            format!(
                "モニターによる常時監視は行わない。（{}）",
                p.live_view.basis
            )
        }];
        viewing.push(format!(
            "画像の閲覧、操作及び抽出は、次の場所の登録された端末に限る。（{}）",
            p.access.terminal_basis
        ));
        articles.push(section(
            "（画像を取り扱う場所）",
            viewing,
            p.terminals
                .iter()
                .map(|t| format!("{}（{}）", t.name, t.basis))
                .collect(),
        ));
        let counting = match p.retention.counting {
            Counting::FromRecording => "撮影の時から起算して",
            Counting::FromNextDay => "録画日の翌日から起算して",
        };
        articles.push(section(
            "（保存期間及び消去）",
            vec![
                format!(
                    "画像の保存期間は、{counting}{}日とする。（{}）",
                    p.retention.days, p.retention.basis
                ),
                "保存期間を経過した画像は、速やかにかつ確実に消去する（上書き及び暗号鍵の破棄による）。保存期間の延長は管理責任者が理由を記録して行う。"
                    .into(),
            ],
            Vec::new(),
        ));
        articles.push(section(
            "（利用及び提供の制限）",
            vec![format!(
                "画像は、前条の目的以外に利用し、又は第三者に提供してはならない。ただし、次の場合はこの限りでない。（{}）",
                p.disclosure.basis
            )],
            p.disclosure
                .grounds
                .iter()
                .map(|g| format!("{}（{}）", g.label, g.basis))
                .collect(),
        ));
        articles.push(section(
            "（記録媒体の廃棄）",
            vec![format!(
                "記録媒体を廃棄するときは、{}により行い、{}人{}で確認する。（{}）",
                r.disposal
                    .methods
                    .iter()
                    .map(|m| m.label())
                    .collect::<Vec<_>>()
                    .join("又は"),
                r.disposal.confirmations,
                if r.disposal.manager_confirms {
                    "（管理責任者を含む）"
                } else {
                    ""
                },
                r.disposal.basis
            )],
            Vec::new(),
        ));
        articles.push(section(
            "（苦情等の処理）",
            vec![format!(
                "防犯カメラに関する苦情及び問い合わせには、誠実かつ迅速に対応し、受付から{}日以内に回答するよう努める。（{}）",
                r.complaints.answer_within_days, r.complaints.basis
            )],
            Vec::new(),
        ));
        articles.push(section(
            "（見直し及び保守点検）",
            vec![format!(
                "設置場所及び撮影範囲は{}日ごとに見直し、機器は{}日ごとに保守点検を行い、その結果を記録する。",
                r.placement_review.every_days, r.inspection.every_days
            )],
            Vec::new(),
        ));
        for (i, a) in articles.iter_mut().enumerate() {
            a.heading = format!("第{}条 {}", i + 1, a.heading);
        }
        Ok(Document {
            title: format!("{} 防犯カメラの設置及び運用に関する規程", p.installer),
            lead: format!(
                "（{} に基づき、運用中のシステムの設定から作成）",
                p.regulation
            ),
            sections: articles,
            footer: format!(
                "mimamori が施行中のポリシー（{}）から生成。{}",
                p.preset,
                generated_on(self.clock.now())
            ),
        })
    }

    /// The 個人情報ファイル簿 entry for the footage, from the policy (needs `records`).
    pub async fn personal_file_entry(&self, actor: &Actor) -> Result<Document> {
        self.require(actor, Permission::Records).await?;
        let p = &self.policy;
        let manager = p.role_title(RoleKind::Manager);
        let manager_basis = p
            .role(RoleKind::Manager)
            .map(|r| r.basis.clone())
            .unwrap_or_default();
        let regular = match &p.disclosure.agreement {
            Some(a) => format!("協定を締結した警察署（{}）", a.basis),
            None => "なし".into(),
        };
        let rows: Vec<(String, String)> = [
            (
                "個人情報ファイルの名称",
                format!("{} 防犯カメラ画像ファイル", p.installer),
            ),
            ("行政機関等の名称", p.installer.clone()),
            (
                "個人情報ファイルが利用に供される事務をつかさどる組織の名称",
                format!("{manager}（{manager_basis}）"),
            ),
            (
                "個人情報ファイルの利用目的",
                p.purposes
                    .iter()
                    .map(|x| x.label.clone())
                    .collect::<Vec<_>>()
                    .join("、"),
            ),
            (
                "記録項目",
                "撮影された画像（人の容ぼう・姿態等）、撮影日時、撮影したカメラ".into(),
            ),
            ("記録範囲", "防犯カメラの撮影区域を通行等した者".into()),
            ("記録情報の収集方法", "防犯カメラによる撮影".into()),
            ("要配慮個人情報が含まれるときは、その旨", "含まない".into()),
            ("記録情報の経常的提供先", regular),
            (
                "開示請求等を受理する組織の名称及び所在地",
                format!("{} {}", p.installer, manager),
            ),
            (
                "訂正及び利用停止に関する他の法令の規定による特別の手続等",
                "なし".into(),
            ),
            (
                "個人情報ファイルの種別",
                "電算処理ファイル（法第60条第2項第1号）".into(),
            ),
            (
                "保存期間",
                format!("{}日（{}）", p.retention.days, p.retention.basis),
            ),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        Ok(Document {
            title: "個人情報ファイル簿".into(),
            lead: format!("{} の防犯カメラ画像", p.regulation),
            sections: vec![Section {
                rows,
                ..Section::default()
            }],
            footer: format!(
                "mimamori が施行中のポリシー（{}）から生成。{}",
                p.preset,
                generated_on(self.clock.now())
            ),
        })
    }
}
