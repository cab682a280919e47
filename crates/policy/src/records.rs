//! The records a regulation makes the installer keep beside the footage: how a
//! medium holding images is disposed of (by which methods, confirmed by how many
//! people, the manager among them or not) and how complaints and inquiries are
//! handled (the answer's target date). The presets cite the clause each follows.

use serde::{Deserialize, Serialize};

/// How a medium's images are made unreadable before it goes.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DisposalMethod {
    /// 完全消去: every byte overwritten or the disk securely erased.
    Erasure,
    /// 物理的破壊: 破砕・裁断 (crushed, shredded).
    Destruction,
}

impl DisposalMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            DisposalMethod::Erasure => "erasure",
            DisposalMethod::Destruction => "destruction",
        }
    }

    pub fn parse(s: &str) -> Option<DisposalMethod> {
        match s {
            "erasure" => Some(DisposalMethod::Erasure),
            "destruction" => Some(DisposalMethod::Destruction),
            _ => None,
        }
    }

    /// The method as the register prints it.
    pub fn label(self) -> &'static str {
        match self {
            DisposalMethod::Erasure => "完全消去",
            DisposalMethod::Destruction => "物理的破壊（破砕・裁断）",
        }
    }
}

/// The disposal of a medium or recorder (記録媒体の廃棄, REQ-MED-2).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DisposalRule {
    /// The methods the regulation allows.
    pub methods: Vec<DisposalMethod>,
    /// How many people confirm, each in their own account (複数人で確認).
    pub confirmations: u32,
    /// The manager must be one of them (管理責任者を含め).
    pub manager_confirms: bool,
    /// The clause this follows.
    pub basis: String,
}

/// Complaints and inquiries (苦情・問い合わせ, REQ-CMP-1).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ComplaintRule {
    /// Days from intake by which an answer is due; past it, the complaint is
    /// flagged as overdue.
    pub answer_within_days: u32,
    /// Where that number comes from (no seed names one: it is the installer's
    /// own target for 「迅速に」).
    pub days_basis: String,
    /// The clause on handling complaints.
    pub basis: String,
}

/// A periodic check of every camera (a placement review, an inspection, a look
/// at its sign): due again `every_days` after the last.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckRule {
    pub every_days: u32,
    /// Where that number comes from.
    pub days_basis: String,
    /// The clause that asks for the check.
    pub basis: String,
}

/// The sign at each camera (設置の表示, REQ-SIG-1): its lines, as the regulation
/// words them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignageRule {
    pub lines: Vec<String>,
    pub basis: String,
}

/// The kinds of periodic check.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckKind {
    /// 設置場所・撮影範囲の見直し (REQ-PUR-3).
    PlacementReview,
    /// 保守点検 (REQ-MNT-1), by staff or a contractor.
    Inspection,
    /// The sign is in place and legible (REQ-SIG-1).
    Signage,
}

impl CheckKind {
    pub const ALL: [CheckKind; 3] = [
        CheckKind::PlacementReview,
        CheckKind::Inspection,
        CheckKind::Signage,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            CheckKind::PlacementReview => "placement_review",
            CheckKind::Inspection => "inspection",
            CheckKind::Signage => "signage",
        }
    }

    pub fn parse(s: &str) -> Option<CheckKind> {
        CheckKind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    pub fn label(self) -> &'static str {
        match self {
            CheckKind::PlacementReview => "設置場所・撮影範囲の見直し",
            CheckKind::Inspection => "保守点検",
            CheckKind::Signage => "表示板の確認",
        }
    }
}

/// Everything of this module, as `[records]` in the policy file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Records {
    pub disposal: DisposalRule,
    pub complaints: ComplaintRule,
    pub signage: SignageRule,
    pub placement_review: CheckRule,
    pub inspection: CheckRule,
    pub signage_check: CheckRule,
}

impl Records {
    /// The rule of a kind of check.
    pub fn check(&self, kind: CheckKind) -> &CheckRule {
        match kind {
            CheckKind::PlacementReview => &self.placement_review,
            CheckKind::Inspection => &self.inspection,
            CheckKind::Signage => &self.signage_check,
        }
    }
}

/// A yearly check where the regulation says only 「適宜」 or 「必要に応じて」.
fn yearly(basis: &str) -> CheckRule {
    CheckRule {
        every_days: 365,
        days_basis: TARGET.into(),
        basis: basis.into(),
    }
}

impl Default for Records {
    fn default() -> Self {
        Records {
            disposal: DisposalRule {
                methods: vec![DisposalMethod::Erasure, DisposalMethod::Destruction],
                confirmations: 1,
                manager_confirms: false,
                basis: String::new(),
            },
            complaints: ComplaintRule {
                answer_within_days: 14,
                days_basis: TARGET.into(),
                basis: String::new(),
            },
            signage: SignageRule {
                lines: vec!["防犯カメラ作動中".into()],
                basis: String::new(),
            },
            placement_review: yearly(""),
            inspection: yearly(""),
            signage_check: yearly(""),
        }
    }
}

/// No seed gives a number of days for 「迅速に」, 「適宜」 or 「必要に応じて」: the
/// presets' targets are the installer's own, and say so.
const TARGET: &str = "運用上の目標（規程は日数を定めていない）";

/// The records rules of a preset, clause by clause.
pub(crate) fn preset_records(name: &str) -> Option<Records> {
    use DisposalMethod::{Destruction, Erasure};
    let (methods, confirmations, manager_confirms, dbasis, cbasis) = match name {
        "tottori-city-hall" => (
            vec![Erasure, Destruction],
            2,
            true,
            "5(4) 管理責任者を含め複数人で完全に消去されたことを確認のうえ廃棄",
            "10 管理責任者又は苦情処理担当者が誠実かつ迅速に対応",
        ),
        "kitakyushu" => (
            vec![Erasure, Destruction],
            2,
            true,
            "第5条(7) 管理責任者を含む複数人で完全に記録内容が消去されたことを確認のうえ廃棄",
            "第7条 苦情を受理したときは迅速かつ誠実に対応",
        ),
        "chiba-guideline" => (
            vec![Destruction],
            1,
            false,
            "第2-5(5) 記録媒体は読み取りが行えないよう破砕や裁断等の物理的な処理",
            "第2-8 苦情や問合せには迅速かつ誠実に対応",
        ),
        "midori-stations" => (
            vec![Destruction],
            1,
            false,
            "第8条 画像記録媒体の廃棄は物理的な破砕等により行う",
            "第12条 運用責任者は苦情等を受けたときは速やかに適切な措置",
        ),
        "osaka-nishinari" => (
            vec![Erasure, Destruction],
            1,
            false,
            "規程に定めなし（廃棄の記録のみ）",
            "第9条 管理責任者は苦情に関し迅速かつ適切な対応",
        ),
        _ => return None,
    };
    let (lines, sbasis): (&[&str], &str) = match name {
        "tottori-city-hall" => (
            &["防犯カメラ作動中"],
            "4(2) 撮影区域内の見やすい位置に「防犯カメラ作動中」と記載した表示板を掲示",
        ),
        "kitakyushu" => (
            &["防犯カメラ作動中", "防犯カメラ設置管理者 北九州市"],
            "第4条(2) 別表2を基準として「防犯カメラ作動中及び防犯カメラ設置管理者」を表示",
        ),
        "chiba-guideline" => (
            &["防犯カメラ作動中"],
            "第2-3 撮影区域の出入り口付近に分かりやすく表示（規程例5 「防犯カメラ作動中」）",
        ),
        "midori-stations" => (
            &["防犯カメラ作動中", "設置者 みどり市"],
            "第6条 設置者名及び防犯カメラが作動している旨を表示",
        ),
        _ => (
            &["見守りカメラ作動中", "設置者 大阪市西成区"],
            "第10条 市民が見守りカメラを認識できるよう表示板等を掲示（文言は規程に定めなし）",
        ),
    };
    let (review, inspection) = match name {
        "tottori-city-hall" => (
            "4(4) 設置場所や撮影範囲が適切かなど適宜見直し",
            "7 機能維持のため必要に応じて保守点検",
        ),
        "kitakyushu" => (
            "規程に定めなし（運用上の見直し）",
            "第5条(2) 運用保守（保守業者による）",
        ),
        "chiba-guideline" => (
            "規程に定めなし（運用上の見直し）",
            "規程に定めなし（運用上の点検）",
        ),
        "midori-stations" => (
            "規程に定めなし（運用上の見直し）",
            "規程に定めなし（運用上の点検）",
        ),
        _ => (
            "規程に定めなし（運用上の見直し）",
            "規程に定めなし（運用上の点検）",
        ),
    };
    Some(Records {
        disposal: DisposalRule {
            methods,
            confirmations,
            manager_confirms,
            basis: dbasis.into(),
        },
        complaints: ComplaintRule {
            answer_within_days: 14,
            days_basis: TARGET.into(),
            basis: cbasis.into(),
        },
        signage: SignageRule {
            lines: lines.iter().map(|l| l.to_string()).collect(),
            basis: sbasis.into(),
        },
        placement_review: yearly(review),
        inspection: yearly(inspection),
        signage_check: yearly(sbasis),
    })
}

/// What contradicts itself in `[records]`: (key, message).
pub(crate) fn check(r: &Records) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    if r.disposal.methods.is_empty() {
        out.push((
            "disposal.methods",
            "at least one disposal method (\"erasure\", \"destruction\")".to_string(),
        ));
    }
    if r.disposal.confirmations == 0 {
        out.push((
            "disposal.confirmations",
            "a disposal is confirmed by at least one person".to_string(),
        ));
    }
    if r.signage.lines.iter().all(|l| l.trim().is_empty()) {
        out.push(("signage.lines", "the sign says something".to_string()));
    }
    for (key, rule) in [
        ("placement_review.every_days", &r.placement_review),
        ("inspection.every_days", &r.inspection),
        ("signage_check.every_days", &r.signage_check),
    ] {
        if rule.every_days == 0 {
            out.push((key, "at least one day between checks".to_string()));
        }
    }
    if r.complaints.answer_within_days == 0 {
        out.push((
            "complaints.answer_within_days",
            "at least one day to answer".to_string(),
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Tottori 5(4) and Kitakyushu 第5条(7): several people, the manager among them;
    /// Chiba 第2-5(5) and Midori 第8条: physical destruction only.
    #[test]
    fn presets_follow_their_disposal_clauses() {
        let r = |n| preset_records(n).unwrap().disposal;
        for n in ["tottori-city-hall", "kitakyushu"] {
            assert_eq!(
                (r(n).confirmations, r(n).manager_confirms),
                (2, true),
                "{n}"
            );
            assert!(r(n).basis.contains("管理責任者を含"), "{n}");
        }
        for n in ["chiba-guideline", "midori-stations"] {
            assert_eq!(r(n).methods, vec![DisposalMethod::Destruction], "{n}");
            assert!(r(n).basis.contains("破砕"), "{n}");
        }
        assert!(r("tottori-city-hall").basis.starts_with("5(4)"));
        assert!(r("kitakyushu").basis.starts_with("第5条(7)"));
        assert!(r("midori-stations").basis.starts_with("第8条"));
        assert!(preset_records("nowhere").is_none());
    }

    #[test]
    fn complaint_clauses_are_cited_and_the_days_say_whose_they_are() {
        for (n, article) in [
            ("tottori-city-hall", "10 "),
            ("kitakyushu", "第7条"),
            ("chiba-guideline", "第2-8"),
            ("midori-stations", "第12条"),
            ("osaka-nishinari", "第9条"),
        ] {
            let c = preset_records(n).unwrap().complaints;
            assert!(c.basis.starts_with(article), "{n}: {}", c.basis);
            assert!(c.days_basis.contains("規程は日数を定めていない"), "{n}");
        }
    }

    /// Each seed's sign, as it words it: Kitakyushu 第4条(2) names the manager of
    /// the cameras, Midori 第6条 the installer; Tottori 4(2) only 「防犯カメラ作動中」.
    #[test]
    fn signs_say_what_each_regulation_asks() {
        let l = |n| preset_records(n).unwrap().signage.lines;
        assert_eq!(l("tottori-city-hall"), ["防犯カメラ作動中"]);
        assert!(
            l("kitakyushu")
                .iter()
                .any(|x| x.contains("防犯カメラ設置管理者"))
        );
        assert!(l("midori-stations").iter().any(|x| x.contains("みどり市")));
        assert!(l("osaka-nishinari")[0].contains("見守りカメラ"));
        assert!(
            preset_records("kitakyushu")
                .unwrap()
                .signage
                .basis
                .starts_with("第4条(2)")
        );
        assert!(
            preset_records("midori-stations")
                .unwrap()
                .signage
                .basis
                .starts_with("第6条")
        );
    }

    #[test]
    fn a_rule_without_method_or_confirmer_is_refused() {
        let mut r = Records::default();
        r.disposal.methods.clear();
        r.disposal.confirmations = 0;
        let keys: Vec<_> = check(&r).into_iter().map(|(k, _)| k).collect();
        assert_eq!(keys, ["disposal.methods", "disposal.confirmations"]);
    }
}
