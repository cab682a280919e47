//! Japanese first, English on request: every user-facing string of the UI, by key.
//! The language comes from the `lang` cookie; Japanese when absent.

use chrono::Datelike;

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Lang {
    Ja,
    En,
}

impl Lang {
    pub fn from_cookie(v: Option<&str>) -> Lang {
        match v {
            Some("en") => Lang::En,
            _ => Lang::Ja,
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Lang::Ja => "ja",
            Lang::En => "en",
        }
    }
}

/// (key, 日本語, English)
const STRINGS: &[(&str, &str, &str)] = &[
    (
        "app.title",
        "見守り — 防犯カメラ管理",
        "mimamori — camera governance",
    ),
    ("nav.cameras", "カメラ一覧", "Cameras"),
    ("nav.add_camera", "カメラを追加", "Add camera"),
    ("nav.logout", "ログアウト", "Log out"),
    ("nav.switch_lang", "English", "日本語"),
    ("login.title", "ログイン", "Log in"),
    ("login.username", "ユーザー名", "User name"),
    ("login.password", "パスワード", "Password"),
    ("login.submit", "ログイン", "Log in"),
    (
        "login.failed",
        "ユーザー名またはパスワードが違います。",
        "Wrong user name or password.",
    ),
    (
        "login.locked",
        "失敗が続いたため、しばらくログインできません。少し待ってからやり直してください。",
        "Too many failed attempts. Wait a moment and try again.",
    ),
    ("cameras.title", "カメラ一覧", "Cameras"),
    ("cameras.name", "名前", "Name"),
    ("cameras.status", "状態", "Status"),
    ("cameras.last_frame", "最終受信", "Last frame"),
    ("cameras.source", "接続先", "Source"),
    (
        "cameras.none",
        "カメラが登録されていません。",
        "No cameras yet.",
    ),
    ("cameras.view", "映像", "Video"),
    ("cameras.settings", "設定", "Settings"),
    (
        "cameras.test_pattern",
        "テストパターン（内蔵の模擬カメラ）",
        "Test pattern (built-in simulated camera)",
    ),
    ("status.starting", "開始中", "Starting"),
    ("status.recording", "録画中", "Recording"),
    ("status.reconnecting", "再接続中", "Reconnecting"),
    ("status.failing", "障害", "Failing"),
    ("status.stopped", "停止", "Stopped"),
    ("form.name", "名前", "Name"),
    (
        "form.main_url",
        "RTSP URL（メインストリーム）",
        "RTSP URL (main stream)",
    ),
    (
        "form.sub_url",
        "RTSP URL（サブストリーム・任意）",
        "RTSP URL (sub stream, optional)",
    ),
    ("form.username", "カメラのユーザー名", "Camera user name"),
    ("form.password", "カメラのパスワード", "Camera password"),
    (
        "form.password_keep",
        "空欄のままなら変更しません",
        "Leave empty to keep the current one",
    ),
    (
        "form.audio",
        "音声は録音しません（公共の場所での音声はプライバシーに関わるため、映像のみ記録します）",
        "Audio is not recorded (sound in public places is a privacy matter): video only",
    ),
    ("form.save", "保存", "Save"),
    ("form.remove", "このカメラを削除", "Remove this camera"),
    (
        "form.remove_note",
        "録画済みの映像は保存期間が過ぎるまで残ります。",
        "Recorded footage stays until its retention ends.",
    ),
    ("form.add_title", "カメラを追加", "Add a camera"),
    ("form.edit_title", "カメラの設定", "Camera settings"),
    ("view.calendar", "日付", "Date"),
    (
        "view.timeline",
        "タイムライン（24時間）",
        "Timeline (24 hours)",
    ),
    ("view.recorded", "録画あり", "Recorded"),
    ("view.gap", "録画なし", "Not recorded"),
    (
        "view.play_hint",
        "タイムラインをクリックすると、その時刻から再生します。",
        "Click the timeline to play from that time.",
    ),
    (
        "view.download",
        "範囲を指定してダウンロード（MP4）",
        "Download a range (MP4)",
    ),
    ("view.from", "開始", "From"),
    ("view.to", "終了", "To"),
    ("view.download_button", "ダウンロード", "Download"),
    ("view.live", "ライブ映像", "Live view"),
    ("view.live_start", "ライブ映像を表示", "Show live view"),
    (
        "view.live_forbidden",
        "この規程ではライブ映像（常時監視）は許可されていません",
        "Live view (constant monitoring) is not allowed by this regulation",
    ),
    ("view.prev_month", "前の月", "Previous month"),
    ("view.next_month", "次の月", "Next month"),
    (
        "view.no_recording",
        "この時刻の録画はありません。",
        "Nothing was recorded at this time.",
    ),
    ("view.play_at", "時刻を指定して再生", "Play from a time"),
    ("view.play", "再生", "Play"),
    ("view.playing_from", "再生開始時刻", "Playing from"),
    (
        "gap.unreachable",
        "カメラに接続できない",
        "camera unreachable",
    ),
    (
        "gap.auth_failed",
        "カメラの認証に失敗",
        "camera refused credentials",
    ),
    ("gap.stalled", "映像が止まった", "stream froze"),
    (
        "gap.stream_ended",
        "カメラが配信を終了",
        "camera ended the stream",
    ),
    ("gap.stream_error", "映像の異常", "stream error"),
    (
        "gap.recorder_stopped",
        "録画装置の停止",
        "recorder not running",
    ),
    ("nav.retention", "保存期間", "Retention"),
    (
        "ret.title",
        "保存期間・延長・消去",
        "Retention, holds and erasure",
    ),
    ("ret.alarm", "警告", "Alarm"),
    ("ret.rule", "保存期間", "Retention"),
    (
        "ret.rule_from_recording",
        "日間（録画時から）",
        "days from recording",
    ),
    (
        "ret.rule_next_day",
        "日間（録画日の翌日から起算）",
        "days counted from the day after recording",
    ),
    ("ret.oldest", "最も古い映像", "Oldest footage"),
    ("ret.next", "次の消去", "Next erasure"),
    (
        "ret.capacity",
        "ディスクに保存できる日数（実測の容量から）",
        "Days the disk holds (measured)",
    ),
    ("ret.days", "日", "days"),
    (
        "ret.short",
        "保存期間に足りません",
        "shorter than the retention",
    ),
    (
        "ret.holds",
        "保存期間の延長",
        "Retention extensions (holds)",
    ),
    ("ret.range", "対象期間", "Range"),
    ("ret.until", "延長の終了日時", "Kept until"),
    ("ret.reason", "理由", "Reason"),
    (
        "ret.medium",
        "外部記録媒体に保管する場合はその媒体（任意）",
        "External medium holding the copy (optional)",
    ),
    ("ret.medium_short", "媒体", "medium"),
    ("ret.change", "変更", "Change"),
    ("ret.release", "解除", "Release"),
    ("ret.released", "解除済み", "released"),
    ("ret.ended", "終了", "ended"),
    (
        "ret.new_hold",
        "延長する（管理責任者のみ）",
        "Extend retention (manager only)",
    ),
    ("ret.create", "延長する", "Extend"),
    ("ret.erasures", "消去記録", "Erasure log"),
    ("ret.erased_at", "消去日時", "Erased at"),
    ("ret.amount", "件数 / 容量 / 鍵", "Segments / size / keys"),
    (
        "ret.verify",
        "改ざん検証（最新）",
        "Integrity check (latest)",
    ),
    ("ret.segments", "セグメント", "segments"),
    ("ret.problems", "件の問題", "problems"),
    (
        "ret.never_verified",
        "まだ検証していません（mimamori verify）",
        "Not verified yet (mimamori verify)",
    ),
    ("nav.audit", "操作記録", "Audit log"),
    ("audit.title", "操作記録（監査ログ）", "Audit log"),
    ("audit.role", "役割（当時）", "Role (then)"),
    ("authz.refused", "この操作はできません", "Not allowed"),
    (
        "authz.logged",
        "この拒否は操作記録に残りました。",
        "This refusal was written to the audit log.",
    ),
    ("nav.people", "担当者", "People"),
    ("nav.instructions", "指示", "Instructions"),
    ("people.title", "担当者の指定", "Designations"),
    ("people.username", "ユーザー名", "User name"),
    ("people.display_name", "氏名", "Name"),
    (
        "people.organization",
        "所属（委託先）",
        "Organization (contractor)",
    ),
    ("people.org_hint", "職員は空欄", "empty for staff"),
    ("people.staff", "設置者の職員", "Installer's staff"),
    ("people.role", "役割", "Role"),
    ("people.pledge", "守秘義務の誓約", "Confidentiality pledge"),
    ("people.training", "研修", "Training"),
    ("people.add", "担当者を追加", "Add a person"),
    ("people.valid_from", "指定日", "From"),
    ("people.valid_until", "終了日", "Until"),
    ("people.until", "〜", "until"),
    ("people.none", "指定なし", "not designated"),
    ("people.basis", "根拠", "Basis"),
    (
        "people.basis_hint",
        "空欄なら規程の条項",
        "empty: the regulation's article",
    ),
    (
        "people.initial_password",
        "初期パスワード",
        "Initial password",
    ),
    ("people.history", "指定の履歴", "Designation history"),
    ("people.new_designation", "新たに指定", "New designation"),
    ("people.end", "指定を終了", "End designation"),
    ("people.end_reason", "終了の理由", "Reason"),
    ("people.records", "誓約・研修の記録", "Pledges and training"),
    ("people.content_hint", "内容", "Content"),
    ("instr.title", "指示", "Instructions"),
    ("instr.person", "取扱担当者", "Operator"),
    ("instr.range", "対象の録画期間", "Footage range"),
    ("instr.until", "有効期限", "Valid until"),
    ("instr.content", "指示内容", "Instruction"),
    ("instr.new", "指示を出す", "Issue an instruction"),
    ("instr.revoke", "取り消す", "Revoke"),
    ("instr.closed", "終了", "Closed"),
    (
        "instr.none",
        "有効な指示はありません",
        "No open instruction",
    ),
    ("acct.designation", "指定", "Designation"),
    (
        "acct.totp",
        "二要素認証（ワンタイムコード）",
        "Two-factor authentication (one-time code)",
    ),
    (
        "acct.totp_on",
        "設定済みです。ログイン時に確認コードを入力します。",
        "Enrolled: a code is asked at login.",
    ),
    ("acct.totp_off", "未設定です。", "Not enrolled."),
    ("acct.totp_enroll", "設定する", "Enroll"),
    (
        "acct.totp_hint",
        "認証アプリにこの鍵を登録し、表示された6桁のコードを入力してください。",
        "Add this key to an authenticator app and enter the 6-digit code it shows.",
    ),
    (
        "acct.totp_wrong",
        "コードが違います。もう一度入力してください。",
        "Wrong code; try again.",
    ),
    (
        "login.code",
        "確認コード（二要素認証を設定している場合）",
        "One-time code (if enrolled)",
    ),
    (
        "login.needs_code",
        "確認コードが必要です（または違います）。",
        "A valid one-time code is needed.",
    ),
    (
        "login.needs_enrollment",
        "この役割は二要素認証が必須です。システム管理者に `mimamori user totp` での設定を依頼してください。",
        "This role requires a second factor; ask the administrator to enroll you with `mimamori user totp`.",
    ),
    (
        "login.not_designated",
        "現在、有効な指定がありません",
        "No valid designation now",
    ),
    ("view.purpose", "閲覧の目的", "Purpose of viewing"),
    ("view.purpose_note", "具体的な理由", "Details"),
    (
        "view.purpose_hint",
        "録画を見る前に目的を選んでください（目的外利用の禁止）。",
        "Choose the purpose before viewing recordings (no use outside the purpose).",
    ),
    (
        "view.no_playback",
        "この役割では映像を表示できません。",
        "Your role does not show images.",
    ),
    ("audit.user", "利用者", "Person"),
    ("audit.camera", "カメラ", "Camera"),
    ("audit.action", "操作", "Action"),
    ("audit.date", "日付", "Date"),
    ("audit.time", "日時", "Time"),
    ("audit.range", "対象期間", "Range"),
    ("audit.client", "端末", "Terminal"),
    ("audit.purpose", "目的", "Purpose"),
    ("audit.detail", "詳細", "Detail"),
    ("audit.filter", "絞り込み", "Filter"),
    ("acct.title", "アカウント", "Account"),
    ("acct.password", "パスワードの変更", "Change password"),
    ("acct.current", "現在のパスワード", "Current password"),
    (
        "acct.new",
        "新しいパスワード（8文字以上）",
        "New password (8 characters or more)",
    ),
    (
        "acct.changed",
        "パスワードを変更しました。他の端末のログインは終了しました。",
        "Password changed. Your other sessions were ended.",
    ),
    ("acct.sessions", "ログイン中のセッション", "Your sessions"),
    ("acct.created", "ログイン日時", "Logged in"),
    ("acct.seen", "最終操作", "Last used"),
    ("acct.expires", "有効期限", "Expires"),
    ("acct.revoke", "終了させる", "End it"),
    ("acct.this_session", "この端末", "this one"),
    ("error.title", "エラー", "Error"),
    ("error.back", "戻る", "Back"),
];

pub fn t(lang: Lang, key: &str) -> &'static str {
    match STRINGS.iter().find(|(k, _, _)| *k == key) {
        Some((_, ja, en)) => match lang {
            Lang::Ja => ja,
            Lang::En => en,
        },
        None => "",
    }
}

/// All strings of a language as JSON, for the page script.
pub fn json_table(lang: Lang) -> String {
    let map: serde_json::Map<String, serde_json::Value> = STRINGS
        .iter()
        .map(|(k, ja, en)| {
            (
                (*k).to_string(),
                serde_json::Value::String((if lang == Lang::Ja { ja } else { en }).to_string()),
            )
        })
        .collect();
    serde_json::Value::Object(map).to_string()
}

/// 和暦 for a Gregorian date, e.g. 令和8年 for 2026 (Reiwa began 2019-05-01).
pub fn japanese_era_year(date: chrono::NaiveDate) -> String {
    let (y, m, d) = (date.year(), date.month(), date.day());
    let ymd = (y, m, d);
    if ymd >= (2019, 5, 1) {
        era("令和", y - 2018)
    } else if ymd >= (1989, 1, 8) {
        era("平成", y - 1988)
    } else {
        format!("{y}年")
    }
}

fn era(name: &str, n: i32) -> String {
    if n == 1 {
        format!("{name}元年")
    } else {
        format!("{name}{n}年")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_has_both_languages() {
        for (k, ja, en) in STRINGS {
            assert!(!ja.is_empty() && !en.is_empty(), "{k}");
        }
    }

    #[test]
    fn japanese_era_years() {
        let d = |y, m, d| chrono::NaiveDate::from_ymd_opt(y, m, d).unwrap();
        assert_eq!(japanese_era_year(d(2026, 11, 23)), "令和8年");
        assert_eq!(japanese_era_year(d(2019, 5, 1)), "令和元年");
        assert_eq!(japanese_era_year(d(2019, 4, 30)), "平成31年");
    }
}
