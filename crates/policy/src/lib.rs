//! The policy: the installer's regulation as data that the code reads. Owns the
//! policy file format (`policy.toml` in the data directory) and the presets for
//! the five seed regulations. So far it carries which regulation is in force and
//! whether live view is allowed; retention and roles extend it in their issues.

use serde::{Deserialize, Serialize};

/// The policy in force for one installation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    /// Preset this policy started from (`tottori-city-hall`, …) or `custom`.
    pub preset: String,
    /// The installer's name as printed on forms (設置者).
    pub installer: String,
    /// The regulation's title.
    pub regulation: String,
    /// Live view rules.
    pub live_view: LiveView,
}

/// Whether images may be watched as they are recorded.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LiveView {
    /// `false` where the regulation forbids constant monitoring (Kitakyushu 第5条(5)).
    pub allowed: bool,
    /// Where in the regulation the rule comes from, shown to users who are refused.
    pub basis: String,
}

#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    #[error("unknown preset {0:?}; known presets: {known}", known = PRESET_NAMES.join(", "))]
    UnknownPreset(String),
    #[error("policy file {path}: {message}")]
    Invalid { path: String, message: String },
}

pub const PRESET_NAMES: [&str; 5] = [
    "tottori-city-hall",
    "kitakyushu",
    "chiba-guideline",
    "midori-stations",
    "osaka-nishinari",
];

impl Policy {
    /// The policy of a named preset, as its seed regulation is written.
    pub fn preset(name: &str) -> Result<Policy, PolicyError> {
        let (installer, regulation, live, basis) = match name {
            "tottori-city-hall" => (
                "鳥取市",
                "鳥取市役所本庁舎防犯カメラ管理・運用規程",
                true,
                "4(3) モニター装置の設置場所は管理室及び財産経営課",
            ),
            "kitakyushu" => (
                "北九州市",
                "北九州市防犯カメラシステム管理運用要領",
                false,
                "第5条(5) モニターによる常時監視を行わず",
            ),
            "chiba-guideline" => (
                "千葉市",
                "千葉市防犯カメラの設置及び運用に関するガイドライン",
                true,
                "第3-2 取扱担当者がモニターを操作",
            ),
            "midori-stations" => (
                "みどり市",
                "みどり市内主要駅における防犯カメラ運用要領",
                true,
                "第3条2 操作員が監視業務を行う",
            ),
            "osaka-nishinari" => (
                "大阪市西成区",
                "子どものための見守りカメラの運用管理に関する要領",
                true,
                "第2条(3) 専用パソコンで画像を閲覧及び抽出",
            ),
            other => return Err(PolicyError::UnknownPreset(other.to_string())),
        };
        Ok(Policy {
            preset: name.to_string(),
            installer: installer.to_string(),
            regulation: regulation.to_string(),
            live_view: LiveView {
                allowed: live,
                basis: basis.to_string(),
            },
        })
    }

    /// Parses a policy file; errors name the file and the line.
    pub fn from_toml(path: &str, text: &str) -> Result<Policy, PolicyError> {
        toml::from_str(text).map_err(|e| PolicyError::Invalid {
            path: path.to_string(),
            message: e.to_string(),
        })
    }

    pub fn to_toml(&self) -> String {
        let body = toml::to_string_pretty(self).unwrap_or_default();
        format!(
            "# mimamori policy: the rules this installation enforces.\n\
             # Started from preset {:?}. Edit with care; mimamori refuses an invalid file at start.\n\n{body}",
            self.preset
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_preset_round_trips_through_its_file() {
        for name in PRESET_NAMES {
            let p = Policy::preset(name).unwrap();
            let back = Policy::from_toml("policy.toml", &p.to_toml()).unwrap();
            assert_eq!(p, back);
        }
    }

    #[test]
    fn kitakyushu_forbids_live_view() {
        // REQ-LOC-2: no constant monitoring.
        assert!(!Policy::preset("kitakyushu").unwrap().live_view.allowed);
        assert!(
            Policy::preset("tottori-city-hall")
                .unwrap()
                .live_view
                .allowed
        );
    }

    #[test]
    fn invalid_file_names_the_line() {
        let err = Policy::from_toml("policy.toml", "preset = \"x\"\nbogus = 1\n").unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("policy.toml") && msg.contains("line"), "{msg}");
    }
}
