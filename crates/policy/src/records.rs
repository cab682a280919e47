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

/// Everything of this module, as `[records]` in the policy file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Records {
    pub disposal: DisposalRule,
    pub complaints: ComplaintRule,
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
        }
    }
}

/// No seed gives a number of days for 「迅速に」: the presets' target is the
/// installer's own, and says so.
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

    #[test]
    fn a_rule_without_method_or_confirmer_is_refused() {
        let mut r = Records::default();
        r.disposal.methods.clear();
        r.disposal.confirmations = 0;
        let keys: Vec<_> = check(&r).into_iter().map(|(k, _)| k).collect();
        assert_eq!(keys, ["disposal.methods", "disposal.confirmations"]);
    }
}
