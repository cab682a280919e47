//! 閲覧・提供: on which grounds footage may be shown or handed to a third party,
//! how a request may ask for it, how the requester's identity is checked, how
//! long provided footage stays held, which register layout the regulation keeps,
//! and the notice of the recipient's duty that goes with every provision. One
//! preset per seed, each citing its articles.

use serde::{Deserialize, Serialize};

/// What kind of ground a request rests on (REQ-DIS-1).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GroundKind {
    /// 法令に基づく場合 (court orders, bar association inquiries, …).
    Law,
    /// 捜査機関からの要請.
    Investigation,
    /// 生命、身体又は財産に対する差し迫った危険.
    Emergency,
    /// 国の機関等の法令の定める事務への協力 (Midori 第9条(3)).
    PublicBody,
    /// その他公共の利益 (Tottori 6(3)).
    PublicInterest,
    /// 本人の同意がある場合又は本人に提供する場合.
    Consent,
}

/// One ground a request may choose (a checkbox of the request form).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ground {
    pub id: String,
    pub label: String,
    pub basis: String,
    pub kind: GroundKind,
    /// The request must say more (その他 ( ), the case an inquiry names).
    #[serde(default)]
    pub detail_required: bool,
    /// What the detail is called on the form.
    #[serde(default)]
    pub detail_label: String,
    /// The request document must be attached before approval (Kitakyushu 第6条2:
    /// 捜査関係事項照会書; Chiba 第2-7(1)イ: 文書によるもの).
    #[serde(default)]
    pub document_required: bool,
}

/// How footage is given (提供方法).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MethodKind {
    /// 閲覧のみ: shown in the viewing room, nothing handed over.
    ViewOnly,
    /// 再生画像撮影: the requester films the screen.
    Photograph,
    /// データ提供 on a removable medium (an evidence package).
    Medium,
    /// ネットワーク利用 (an evidence package, downloaded).
    Network,
    /// その他.
    Other,
}

impl MethodKind {
    /// Whether footage leaves as an evidence package.
    pub fn hands_over_data(self) -> bool {
        matches!(self, MethodKind::Medium | MethodKind::Network)
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Method {
    pub id: String,
    pub label: String,
    pub kind: MethodKind,
}

/// Which seed's register (記録簿・台帳) the installation keeps and prints.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RegisterLayout {
    /// 画像閲覧等記録書 (Tottori 6(4) 別紙様式).
    Tottori,
    /// 第6条3: 提供日時, 提供先, 提供理由, 提供したデータ内容.
    Kitakyushu,
    /// 第2-7(2): 身分確認, 提供日時, 提供先, 提供理由, 提供した画像の内容.
    Chiba,
    /// 様式第2号 画像提供申請記録簿.
    Midori,
    /// 画像管理台帳 (第7条1・2).
    Osaka,
}

/// The disclosure part of the policy.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Disclosure {
    /// The articles that limit viewing and provision.
    pub basis: String,
    /// Who decides and where the regulation says so.
    pub decision_basis: String,
    pub grounds: Vec<Ground>,
    pub methods: Vec<Method>,
    /// How a requester's identity may be checked (REQ-DIS-3).
    pub identity_methods: Vec<String>,
    pub register: RegisterLayout,
    pub register_basis: String,
    /// Days footage stays held after it was provided.
    pub keep_days_after_delivery: u32,
    /// The recipient's duty (Tottori 8(2)), printed in every package and letter.
    pub notice: String,
    /// The largest request document accepted, in bytes.
    #[serde(default = "default_document_limit")]
    pub max_document_bytes: u64,
    /// Direct viewing and extraction by a police station under an agreement
    /// (Osaka 第8条); absent where the regulation has none.
    #[serde(default)]
    pub agreement: Option<AgreementRule>,
}

/// How the regulation provides for agreements with a police station.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgreementRule {
    /// The article (第8条).
    pub basis: String,
    /// The ground of the policy an extraction under an agreement is recorded with.
    pub ground: String,
    /// The method of the policy it is recorded with (used by no other request).
    pub method: String,
    /// What the agreement must say (第8条3 適正な取扱い, 第8条4 是正措置),
    /// shown when one is made.
    pub terms_guidance: String,
}

fn default_document_limit() -> u64 {
    20 << 20
}

impl Disclosure {
    pub fn ground(&self, id: &str) -> Option<&Ground> {
        self.grounds.iter().find(|g| g.id == id)
    }

    pub fn method(&self, id: &str) -> Option<&Method> {
        self.methods.iter().find(|m| m.id == id)
    }
}

fn ground(id: &str, label: &str, basis: &str, kind: GroundKind) -> Ground {
    Ground {
        id: id.into(),
        label: label.into(),
        basis: basis.into(),
        kind,
        detail_required: false,
        detail_label: String::new(),
        document_required: false,
    }
}

fn method(id: &str, label: &str, kind: MethodKind) -> Method {
    Method {
        id: id.into(),
        label: label.into(),
        kind,
    }
}

const NOTICE: &str = "この画像は、申請された目的のためにのみ提供するものです。\
画像及び画像から知り得た個人の情報を、みだりに他に漏らし、又は不当な目的のために使用しないでください。\
目的を達した後は、速やかに確実な方法で消去又は廃棄してください。";

fn identity_methods() -> Vec<String> {
    [
        "身分証明書（職員証・警察手帳等）",
        "公文書（照会書・命令書）の確認",
        "運転免許証・マイナンバーカード等",
        "その他",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

/// The disclosure rules of a preset, as its seed regulation is written.
pub(crate) fn preset_disclosure(name: &str) -> Option<Disclosure> {
    use GroundKind::*;
    use MethodKind::*;
    let (basis, decision_basis, grounds, methods, register, register_basis, notice) = match name {
        "tottori-city-hall" => (
            "6 画像の利用及び提供の制限",
            "5(1)・6 管理責任者が閲覧等を認める",
            vec![
                ground("law", "法令に基づく場合", "6(1)", Law),
                ground(
                    "investigation",
                    "捜査機関から犯罪・事故の捜査のため情報提供を求められた場合",
                    "6(2)",
                    Investigation,
                ),
                ground(
                    "public-interest",
                    "人の生命、身体又は財産の安全確保その他公共の利益のために必要がある場合",
                    "6(3)",
                    PublicInterest,
                ),
            ],
            vec![
                method("view", "閲覧のみ", ViewOnly),
                method("medium", "画像データの提供（記録媒体）", Medium),
                method("network", "画像データの提供（ネットワーク利用）", Network),
                method("other", "その他", Other),
            ],
            RegisterLayout::Tottori,
            "6(4) 別紙様式 画像閲覧等記録書",
            format!("{NOTICE}（鳥取市役所本庁舎防犯カメラ管理・運用規程 8(2)）"),
        ),
        "kitakyushu" => {
            let mut inv = ground(
                "investigation",
                "捜査機関から具体的事件を提示して、犯罪捜査のために情報提供を求められた場合",
                "第6条(1)・第6条2 捜査関係事項照会書",
                Investigation,
            );
            inv.detail_required = true;
            inv.detail_label = "照会書が示す事件".into();
            inv.document_required = true;
            (
                "第6条 第三者への情報提供",
                "第6条2 管理責任者が審査・許可した場合にのみ提供",
                vec![
                    inv,
                    ground(
                        "emergency",
                        "人の生命、身体又は財産に対する差し迫った危険があり、緊急の必要がある場合",
                        "第6条(2)",
                        Emergency,
                    ),
                    ground("law", "その他法令に基づく照会があった場合", "第6条(3)", Law),
                ],
                vec![
                    method("view", "閲覧のみ", ViewOnly),
                    method("medium", "データ提供（記録媒体）", Medium),
                    method("other", "その他", Other),
                ],
                RegisterLayout::Kitakyushu,
                "第6条3 提供日時、提供先、提供理由、提供したデータ内容等を記録",
                format!("{NOTICE}（北九州市防犯カメラシステム管理運用要領 第6条）"),
            )
        }
        "chiba-guideline" => {
            let mut inv = ground(
                "investigation",
                "捜査機関から犯罪の捜査目的による要請を受けた場合（文書による）",
                "第2-7(1)イ",
                Investigation,
            );
            inv.document_required = true;
            (
                "第2-7 画像の利用・提供",
                "第2-7(1) 設置者（管理責任者）が提供の可否を判断",
                vec![
                    ground("law", "法令の規定に基づく場合", "第2-7(1)ア", Law),
                    inv,
                    ground(
                        "emergency",
                        "人の生命、身体又は財産の安全を守るため、緊急かつやむを得ないと認められる場合",
                        "第2-7(1)ウ",
                        Emergency,
                    ),
                    ground(
                        "consent",
                        "本人の同意がある場合又は本人に提供する場合",
                        "第2-7(1)エ",
                        Consent,
                    ),
                ],
                vec![
                    method("view", "閲覧のみ", ViewOnly),
                    method("medium", "画像の提供（記録媒体）", Medium),
                    method("other", "その他", Other),
                ],
                RegisterLayout::Chiba,
                "第2-7(2) 相手方の身分を確認し、提供日時、提供先、提供理由、提供した画像の内容を記録",
                format!(
                    "{NOTICE}（千葉市防犯カメラの設置及び運用に関するガイドライン 第2-6・第2-7）"
                ),
            )
        }
        "midori-stations" => {
            let mut other = ground("other", "その他", "様式第1号 根拠法令等 その他", Law);
            other.detail_required = true;
            other.detail_label = "根拠法令等".into();
            (
                "第9条 画像の利用及び提供の制限・第10条 画像の提供申請等",
                "第10条2 運用責任者が画像提供の可否を決定",
                vec![
                    ground(
                        "civil-223",
                        "民事訴訟法第223条の規定による裁判所からの文書提出命令",
                        "第9条(1)・様式第1号",
                        Law,
                    ),
                    ground(
                        "attorney-23-2",
                        "弁護士法第23条の2第2項の規定による弁護士会からの照会",
                        "第9条(1)・様式第1号",
                        Law,
                    ),
                    ground(
                        "criminal-197",
                        "刑事訴訟法第197条第2項の規定による検察官、警察官等からの捜査協力",
                        "第9条(4)・様式第1号",
                        Investigation,
                    ),
                    ground(
                        "criminal-279",
                        "刑事訴訟法第279条の規定による裁判所からの照会",
                        "第9条(1)・様式第1号",
                        Law,
                    ),
                    ground(
                        "criminal-507",
                        "刑事訴訟法第507条の規定による検察官、裁判所、裁判官からの裁判執行のための照会",
                        "第9条(1)・様式第1号",
                        Law,
                    ),
                    ground(
                        "emergency",
                        "個人の生命、身体又は財産を守るため緊急かつやむを得ないと認められる場合",
                        "第9条(2)",
                        Emergency,
                    ),
                    ground(
                        "public-body",
                        "国の機関若しくは地方公共団体又はその受託者が法令の定める事務を遂行することに協力する必要がある場合",
                        "第9条(3)",
                        PublicBody,
                    ),
                    ground("consent", "本人の同意がある場合", "第9条", Consent),
                    other,
                ],
                vec![
                    method("view", "画像閲覧", ViewOnly),
                    method("photograph", "再生画像撮影（カメラ、ビデオ）", Photograph),
                    method("usb", "データ提供（USBメモリ）", Medium),
                    method("dvd", "データ提供（DVD）", Medium),
                    method("other-medium", "データ提供（その他の記録媒体）", Medium),
                    method("other", "その他", Other),
                ],
                RegisterLayout::Midori,
                "第10条3 様式第2号 画像提供申請記録簿",
                format!("{NOTICE}（みどり市内主要駅における防犯カメラ運用要領 第13条）"),
            )
        }
        "osaka-nishinari" => {
            let mut law = ground(
                "law",
                "法令又は条例に基づく手続きにより照会等を受けた場合",
                "第6条(1)",
                Law,
            );
            law.detail_required = true;
            law.detail_label = "根拠法令等".into();
            (
                "第6条 画像の提供の制限・第7条 画像の提供",
                "第7条1 管理責任者が画像の提供を承認",
                vec![
                    law,
                    ground(
                        "emergency",
                        "個人の生命、身体又は財産の安全を守るため、緊急かつやむを得ないと認められる場合",
                        "第6条(2)",
                        Emergency,
                    ),
                    ground(
                        "consent",
                        "特定の個人が識別できる画像で、本人の同意がある場合又は本人に提供する場合",
                        "第6条(3)",
                        Consent,
                    ),
                ],
                vec![
                    method("view", "閲覧のみ", ViewOnly),
                    method("medium", "抽出した画像の提供（記録媒体）", Medium),
                    method("other", "その他", Other),
                    method("agreement", "協定に基づく抽出（警察署の登録端末）", Network),
                ],
                RegisterLayout::Osaka,
                "第7条2 画像管理台帳（第1号様式）",
                format!("{NOTICE}（子どものための見守りカメラの運用管理に関する要領 第8条3）"),
            )
        }
        _ => return None,
    };
    Some(Disclosure {
        basis: basis.into(),
        decision_basis: decision_basis.into(),
        grounds,
        methods,
        identity_methods: identity_methods(),
        register,
        register_basis: register_basis.into(),
        keep_days_after_delivery: 30,
        notice,
        max_document_bytes: default_document_limit(),
        agreement: (name == "osaka-nishinari").then(|| AgreementRule {
            basis: "第8条 警察署による閲覧及び抽出申請等の特例".into(),
            ground: "law".into(),
            method: "agreement".into(),
            terms_guidance: "協定により提供した画像の適正な取扱い（第8条3）と、適正な取扱いがなされていない場合の是正措置（第8条4）を定めてください".into(),
        }),
    })
}
