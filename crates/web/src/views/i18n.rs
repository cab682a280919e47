//! Japanese first, English on request: every user-facing string of the UI, by
//! key. Pages use the fields of [`Strings`], so an unknown key does not compile,
//! and the table below gives each key both languages or it does not compile
//! either. The page script gets the same table as JSON (`S['view.gap']`).

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Lang {
    Ja,
    En,
}

impl Lang {
    /// From the `lang` cookie; Japanese when absent.
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

    /// The other language (for the switch link).
    pub fn other(self) -> Lang {
        match self {
            Lang::Ja => Lang::En,
            Lang::En => Lang::Ja,
        }
    }

    pub fn strings(self) -> &'static Strings {
        match self {
            Lang::Ja => &JA,
            Lang::En => &EN,
        }
    }
}

macro_rules! strings {
    ($( $field:ident $key:literal => $ja:literal, $en:literal; )*) => {
        /// Every string of the UI in one language.
        pub struct Strings {
            $( pub $field: &'static str, )*
        }

        // Statics, not consts: every use of a const made its own copy of the table,
        // which the loader patches at each start (22 copies of 5 kB, issue 11).
        pub static JA: Strings = Strings { $( $field: $ja, )* };
        pub static EN: Strings = Strings { $( $field: $en, )* };

        /// (key, field name, the string) for the page script's table and the tests.
        pub const KEYS: &[(&str, &str, fn(&Strings) -> &'static str)] = &[
            $( ($key, stringify!($field), |s: &Strings| s.$field), )*
        ];
    };
}

strings! {
    app_title "app.title" => "見守り — 防犯カメラ管理", "mimamori — camera governance";
    nav_cameras "nav.cameras" => "カメラ一覧", "Cameras";
    nav_add_camera "nav.add_camera" => "カメラを追加", "Add camera";
    nav_logout "nav.logout" => "ログアウト", "Log out";
    nav_switch_lang "nav.switch_lang" => "English", "日本語";
    login_title "login.title" => "ログイン", "Log in";
    login_username "login.username" => "ユーザー名", "User name";
    login_password "login.password" => "パスワード", "Password";
    login_submit "login.submit" => "ログイン", "Log in";
    login_busy "login.busy" => "ログインが混み合っています。少し待ってからやり直してください。", "Too many logins at once. Try again in a moment.";
    login_expired "login.expired" => "ログイン画面の有効期限が切れました。もう一度入力してください。", "The login form expired. Please enter your details again.";
    login_failed "login.failed" => "ユーザー名またはパスワードが違います。", "Wrong user name or password.";
    login_locked "login.locked" => "失敗が続いたため、しばらくログインできません。少し待ってからやり直してください。", "Too many failed attempts. Wait a moment and try again.";
    cameras_title "cameras.title" => "カメラ一覧", "Cameras";
    cameras_name "cameras.name" => "名前", "Name";
    cameras_status "cameras.status" => "状態", "Status";
    cameras_last_frame "cameras.last_frame" => "最終受信", "Last frame";
    cameras_source "cameras.source" => "接続先", "Source";
    cameras_none "cameras.none" => "カメラが登録されていません。", "No cameras yet.";
    cameras_catalog_journal "cameras.catalog_journal" => "カタログ（データベース）に届いていない録画の記録をこの機器に保存しています。届き次第、自動で登録されます。件数", "Recordings not yet in the catalog (database) are kept on this machine and registered as soon as it answers. Waiting:";
    cameras_view "cameras.view" => "映像", "Video";
    cameras_settings "cameras.settings" => "設定", "Settings";
    cameras_test_pattern "cameras.test_pattern" => "テストパターン（内蔵の模擬カメラ）", "Test pattern (built-in simulated camera)";
    status_starting "status.starting" => "開始中", "Starting";
    status_recording "status.recording" => "録画中", "Recording";
    status_reconnecting "status.reconnecting" => "再接続中", "Reconnecting";
    status_failing "status.failing" => "障害", "Failing";
    status_stopped "status.stopped" => "停止", "Stopped";
    form_name "form.name" => "名前", "Name";
    form_main_url "form.main_url" => "RTSP URL（メインストリーム）", "RTSP URL (main stream)";
    form_sub_url "form.sub_url" => "RTSP URL（サブストリーム・任意）", "RTSP URL (sub stream, optional)";
    form_username "form.username" => "カメラのユーザー名", "Camera user name";
    form_password "form.password" => "カメラのパスワード", "Camera password";
    form_password_keep "form.password_keep" => "空欄のままなら変更しません", "Leave empty to keep the current one";
    form_audio "form.audio" => "音声は録音しません（公共の場所での音声はプライバシーに関わるため、映像のみ記録します）", "Audio is not recorded (sound in public places is a privacy matter): video only";
    form_save "form.save" => "保存", "Save";
    form_remove "form.remove" => "このカメラを削除", "Remove this camera";
    form_remove_note "form.remove_note" => "録画済みの映像は保存期間が過ぎるまで残ります。", "Recorded footage stays until its retention ends.";
    form_add_title "form.add_title" => "カメラを追加", "Add a camera";
    form_edit_title "form.edit_title" => "カメラの設定", "Camera settings";
    desc_title "desc.title" => "設置場所・目的・撮影範囲", "Location, purpose and shooting range";
    desc_note "desc.note" => "規程・設置台帳の記載どおりに（設置目的外の利用は禁止）。年次報告と規程の文書にも載ります。", "As in the regulation and the installation list (no use beyond the purpose). Also shown in the yearly report and the regulation.";
    desc_location "desc.location" => "設置場所", "Location";
    desc_purpose "desc.purpose" => "設置目的", "Installation purpose";
    desc_coverage "desc.coverage" => "撮影範囲", "Shooting range";
    desc_sign_location "desc.sign_location" => "表示（ステッカー等）の場所", "Where the sign hangs";
    desc_save "desc.save" => "記載を保存", "Save the description";
    view_calendar "view.calendar" => "日付", "Date";
    view_timeline "view.timeline" => "タイムライン（24時間）", "Timeline (24 hours)";
    view_recorded "view.recorded" => "録画あり", "Recorded";
    view_gap "view.gap" => "録画なし", "Not recorded";
    view_play_hint "view.play_hint" => "タイムラインをクリックすると、その時刻から再生します。", "Click the timeline to play from that time.";
    view_download "view.download" => "画像の提供（持ち出しは承認された提供申請によってのみ）", "Provision of footage (only through an approved request)";
    view_from "view.from" => "開始", "From";
    view_to "view.to" => "終了", "To";
    view_download_button "view.download_button" => "提供申請を登録", "Register a request";
    view_live "view.live" => "ライブ映像", "Live view";
    view_live_start "view.live_start" => "ライブ映像を表示", "Show live view";
    view_live_unreachable "view.live_unreachable" => "このカメラを録画しているノードに接続できません。しばらくしてから再度お試しください", "The node recording this camera cannot be reached; try again in a while";
    view_live_forbidden "view.live_forbidden" => "この規程ではライブ映像（常時監視）は許可されていません", "Live view (constant monitoring) is not allowed by this regulation";
    view_prev_month "view.prev_month" => "前の月", "Previous month";
    view_next_month "view.next_month" => "次の月", "Next month";
    view_no_recording "view.no_recording" => "この時刻の録画はありません。", "Nothing was recorded at this time.";
    view_play_at "view.play_at" => "時刻を指定して再生", "Play from a time";
    view_play "view.play" => "再生", "Play";
    view_playing_from "view.playing_from" => "再生開始時刻", "Playing from";
    gap_unreachable "gap.unreachable" => "カメラに接続できない", "camera unreachable";
    gap_auth_failed "gap.auth_failed" => "カメラの認証に失敗", "camera refused credentials";
    gap_stalled "gap.stalled" => "映像が止まった", "stream froze";
    gap_stream_ended "gap.stream_ended" => "カメラが配信を終了", "camera ended the stream";
    gap_stream_error "gap.stream_error" => "映像の異常", "stream error";
    gap_recorder_stopped "gap.recorder_stopped" => "録画装置の停止", "recorder not running";
    cameras_node "cameras.node" => "録画ノード", "Recording node";
    gap_node_handover "gap.node_handover" => "録画ノードの交代", "recorder node handed over";
    nav_retention "nav.retention" => "保存期間", "Retention";
    ret_title "ret.title" => "保存期間・延長・消去", "Retention, holds and erasure";
    ret_alarm "ret.alarm" => "警告", "Alarm";
    ret_rule "ret.rule" => "保存期間", "Retention";
    ret_rule_from_recording "ret.rule_from_recording" => "日間（録画時から）", "days from recording";
    ret_rule_next_day "ret.rule_next_day" => "日間（録画日の翌日から起算）", "days counted from the day after recording";
    ret_oldest "ret.oldest" => "最も古い映像", "Oldest footage";
    ret_next "ret.next" => "次の消去", "Next erasure";
    ret_capacity "ret.capacity" => "ディスクに保存できる日数（実測の容量から）", "Days the disk holds (measured)";
    ret_days "ret.days" => "日", "days";
    ret_short "ret.short" => "保存期間に足りません", "shorter than the retention";
    ret_holds "ret.holds" => "保存期間の延長", "Retention extensions (holds)";
    ret_range "ret.range" => "対象期間", "Range";
    ret_until "ret.until" => "延長の終了日時", "Kept until";
    ret_reason "ret.reason" => "理由", "Reason";
    ret_medium "ret.medium" => "外部記録媒体に保管する場合はその媒体（任意）", "External medium holding the copy (optional)";
    ret_medium_short "ret.medium_short" => "媒体", "medium";
    ret_copy "ret.copy" => "媒体への写しを作成", "Make the copy for the medium";
    ret_copy_passphrase "ret.copy_passphrase" => "パスワード（任意・8文字以上）", "Passphrase (optional, 8 characters or more)";
    ret_copy_file "ret.copy_file" => "写し", "copy";
    ret_change "ret.change" => "変更", "Change";
    ret_release "ret.release" => "解除", "Release";
    ret_released "ret.released" => "解除済み", "released";
    ret_ended "ret.ended" => "終了", "ended";
    ret_new_hold "ret.new_hold" => "延長する（管理責任者のみ）", "Extend retention (manager only)";
    ret_create "ret.create" => "延長する", "Extend";
    ret_erasures "ret.erasures" => "消去記録", "Erasure log";
    ret_erased_at "ret.erased_at" => "消去日時", "Erased at";
    ret_amount "ret.amount" => "件数 / 容量 / 鍵", "Segments / size / keys";
    ret_verify "ret.verify" => "改ざん検証（最新）", "Integrity check (latest)";
    ret_segments "ret.segments" => "セグメント", "segments";
    ret_problems "ret.problems" => "件の問題", "problems";
    ret_never_verified "ret.never_verified" => "まだ検証していません（mimamori verify）", "Not verified yet (mimamori verify)";
    nav_audit "nav.audit" => "操作記録", "Audit log";
    audit_title "audit.title" => "操作記録（監査ログ）", "Audit log";
    audit_role "audit.role" => "役割（当時）", "Role (then)";
    authz_refused "authz.refused" => "この操作はできません", "Not allowed";
    authz_logged "authz.logged" => "この拒否は操作記録に残りました。", "This refusal was written to the audit log.";
    nav_people "nav.people" => "担当者", "People";
    nav_instructions "nav.instructions" => "指示", "Instructions";
    people_title "people.title" => "担当者の指定", "Designations";
    people_username "people.username" => "ユーザー名", "User name";
    people_display_name "people.display_name" => "氏名", "Name";
    people_organization "people.organization" => "所属（委託先）", "Organization (contractor)";
    people_org_hint "people.org_hint" => "職員は空欄", "empty for staff";
    people_staff "people.staff" => "設置者の職員", "Installer's staff";
    people_role "people.role" => "役割", "Role";
    people_pledge "people.pledge" => "守秘義務の誓約", "Confidentiality pledge";
    people_training "people.training" => "研修", "Training";
    people_add "people.add" => "担当者を追加", "Add a person";
    people_valid_from "people.valid_from" => "指定日", "From";
    people_valid_until "people.valid_until" => "終了日", "Until";
    people_until "people.until" => "〜", "until";
    people_none "people.none" => "指定なし", "not designated";
    people_basis "people.basis" => "根拠", "Basis";
    people_basis_hint "people.basis_hint" => "空欄なら規程の条項", "empty: the regulation's article";
    people_initial_password "people.initial_password" => "初期パスワード", "Initial password";
    people_history "people.history" => "指定の履歴", "Designation history";
    people_new_designation "people.new_designation" => "新たに指定", "New designation";
    people_end "people.end" => "指定を終了", "End designation";
    people_end_reason "people.end_reason" => "終了の理由", "Reason";
    people_records "people.records" => "誓約・研修の記録", "Pledges and training";
    people_content_hint "people.content_hint" => "内容", "Content";
    instr_title "instr.title" => "指示", "Instructions";
    instr_person "instr.person" => "取扱担当者", "Operator";
    instr_range "instr.range" => "対象の録画期間", "Footage range";
    instr_until "instr.until" => "有効期限", "Valid until";
    instr_content "instr.content" => "指示内容", "Instruction";
    instr_new "instr.new" => "指示を出す", "Issue an instruction";
    instr_revoke "instr.revoke" => "取り消す", "Revoke";
    instr_closed "instr.closed" => "終了", "Closed";
    instr_none "instr.none" => "有効な指示はありません", "No open instruction";
    acct_designation "acct.designation" => "指定", "Designation";
    acct_totp "acct.totp" => "二要素認証（ワンタイムコード）", "Two-factor authentication (one-time code)";
    acct_totp_on "acct.totp_on" => "設定済みです。ログイン時に確認コードを入力します。", "Enrolled: a code is asked at login.";
    acct_totp_off "acct.totp_off" => "未設定です。", "Not enrolled.";
    acct_totp_enroll "acct.totp_enroll" => "設定する", "Enroll";
    acct_totp_current "acct.totp_current" => "いま登録されている認証アプリのコード", "Code of the authenticator enrolled now";
    acct_totp_hint "acct.totp_hint" => "認証アプリにこの鍵を登録し、表示された6桁のコードを入力してください。", "Add this key to an authenticator app and enter the 6-digit code it shows.";
    acct_totp_wrong "acct.totp_wrong" => "コードが違います。もう一度入力してください。", "Wrong code; try again.";
    login_code "login.code" => "確認コード（二要素認証を設定している場合）", "One-time code (if enrolled)";
    login_needs_code "login.needs_code" => "確認コードが必要です（または違います）。", "A valid one-time code is needed.";
    login_needs_enrollment "login.needs_enrollment" => "この役割は二要素認証が必須です。システム管理者に `mimamori user totp` での設定を依頼してください。", "This role requires a second factor; ask the administrator to enroll you with `mimamori user totp`.";
    login_not_designated "login.not_designated" => "現在、有効な指定がありません", "No valid designation now";
    view_purpose "view.purpose" => "閲覧の目的", "Purpose of viewing";
    view_purpose_note "view.purpose_note" => "具体的な理由", "Details";
    view_purpose_hint "view.purpose_hint" => "録画を見る前に目的を選んでください（目的外利用の禁止）。", "Choose the purpose before viewing recordings (no use outside the purpose).";
    view_no_playback "view.no_playback" => "この役割では映像を表示できません。", "Your role does not show images.";
    audit_user "audit.user" => "利用者", "Person";
    audit_camera "audit.camera" => "カメラ", "Camera";
    audit_action "audit.action" => "操作", "Action";
    audit_date "audit.date" => "日付", "Date";
    audit_time "audit.time" => "日時", "Time";
    audit_range "audit.range" => "対象期間", "Range";
    audit_client "audit.client" => "端末", "Terminal";
    audit_purpose "audit.purpose" => "目的", "Purpose";
    audit_detail "audit.detail" => "詳細", "Detail";
    audit_filter "audit.filter" => "絞り込み", "Filter";
    acct_title "acct.title" => "アカウント", "Account";
    acct_password "acct.password" => "パスワードの変更", "Change password";
    acct_current "acct.current" => "現在のパスワード", "Current password";
    acct_new "acct.new" => "新しいパスワード（8文字以上）", "New password (8 characters or more)";
    acct_changed "acct.changed" => "パスワードを変更しました。他の端末のログインは終了しました。", "Password changed. Your other sessions were ended.";
    acct_sessions "acct.sessions" => "ログイン中のセッション", "Your sessions";
    acct_created "acct.created" => "ログイン日時", "Logged in";
    acct_seen "acct.seen" => "最終操作", "Last used";
    acct_expires "acct.expires" => "有効期限", "Expires";
    acct_revoke "acct.revoke" => "終了させる", "End it";
    acct_this_session "acct.this_session" => "この端末", "this one";
    nav_provisions "nav.provisions" => "提供申請", "Requests";
    prov_title "prov.title" => "画像の提供申請", "Requests for footage";
    prov_new "prov.new" => "申請・照会を登録", "Register a request";
    prov_no "prov.no" => "No.", "No.";
    prov_received_on "prov.received_on" => "申請受付日", "Received on";
    prov_requester "prov.requester" => "申請者", "Requester";
    prov_address "prov.address" => "住所", "Address";
    prov_organisation "prov.organisation" => "機関名等", "Organisation";
    prov_representative "prov.representative" => "代表者氏名", "Representative";
    prov_contact "prov.contact" => "連絡先", "Contact";
    prov_department "prov.department" => "部署名", "Department";
    prov_person "prov.person" => "担当者名", "Person in charge";
    prov_phone "prov.phone" => "電話番号", "Phone";
    prov_cameras "prov.cameras" => "提供画像（設置カメラ）", "Cameras";
    prov_period "prov.period" => "提供画像日時", "Footage period";
    prov_reason "prov.reason" => "申請理由", "Reason";
    prov_ground "prov.ground" => "根拠法令等", "Legal basis";
    prov_ground_detail "prov.ground_detail" => "根拠の詳細（その他・事件名など）", "Detail of the basis (other, the case)";
    prov_method "prov.method" => "提供方法", "Method";
    prov_method_detail "prov.method_detail" => "提供方法の詳細", "Detail of the method";
    prov_remarks "prov.remarks" => "特記事項", "Remarks";
    prov_status "prov.status" => "状態", "Status";
    prov_held "prov.held" => "申請された画像は、申請の処理が終わるまで消去されません（保存期間の延長）。", "The requested footage is held (not erased) while the request is handled.";
    prov_documents "prov.documents" => "申請書・照会書（スキャン）", "Request document (scan)";
    prov_attach "prov.attach" => "添付する（PDF・画像）", "Attach (PDF or image)";
    prov_identity "prov.identity" => "相手方の身分確認", "Identity check of the requester";
    prov_identity_method "prov.identity_method" => "確認方法", "How it was checked";
    prov_identity_detail "prov.identity_detail" => "確認した内容", "What was checked";
    prov_decision "prov.decision" => "提供の可否", "Decision";
    prov_approve "prov.approve" => "提供可", "Approve";
    prov_refuse "prov.refuse" => "提供不可", "Refuse";
    prov_decision_reason "prov.decision_reason" => "特記事項または提供不可の理由", "Remarks, or the reason for refusal";
    prov_extractor "prov.extractor" => "抽出を行う者", "Who extracts";
    prov_extractor_manager "prov.extractor_manager" => "管理責任者（自分）", "The manager (myself)";
    prov_extract "prov.extract" => "画像を抽出（証拠パッケージを作成）", "Extract (build the evidence package)";
    prov_passphrase "prov.passphrase" => "記録媒体用のパスワード（12文字以上、任意。AES暗号化ZIP）", "Passphrase for a medium (12+ characters, optional; AES-encrypted ZIP)";
    prov_building "prov.building" => "作成中", "Building";
    prov_failed "prov.failed" => "作成できませんでした", "Building failed";
    prov_packages "prov.packages" => "証拠パッケージ", "Evidence packages";
    prov_download "prov.download" => "ダウンロード", "Download";
    prov_letter "prov.letter" => "送付書", "Covering letter";
    prov_delivery "prov.delivery" => "提供の記録", "Delivery";
    prov_delivered_at "prov.delivered_at" => "提供日時", "Delivered at";
    prov_recipient "prov.recipient" => "受領者（所属・職・氏名）", "Recipient (affiliation, title, name)";
    prov_medium "prov.medium" => "記録媒体（種類・識別番号）", "Medium (kind, label)";
    prov_note "prov.note" => "その他", "Notes";
    prov_withdraw "prov.withdraw" => "取下げ", "Withdraw";
    prov_register "prov.register" => "記録簿", "Register";
    prov_media "prov.media" => "記録媒体の台帳", "Media register";
    prov_handler "prov.handler" => "取扱者", "Handled by";
    prov_approver "prov.approver" => "管理責任者", "Manager";
    prov_fingerprint "prov.fingerprint" => "署名鍵の指紋", "Signing key fingerprint";
    prov_notice "prov.notice" => "受領者の義務", "The recipient's duty";
    prov_request_pdf "prov.request_pdf" => "申請書を印刷（PDF）", "Print the request form (PDF)";
    prov_none "prov.none" => "まだ申請はありません。", "No requests yet.";
    reg_year "reg.year" => "年度（西暦）", "Fiscal year";
    reg_filter "reg.filter" => "絞り込む", "Filter";
    prov_letter_pdf "prov.letter_pdf" => "送付書を印刷（PDF）", "Print the covering letter (PDF)";
    prov_viewing "prov.viewing" => "閲覧（承認された範囲の再生）", "Viewing (the approved footage)";
    prov_viewing_help "prov.viewing_help" => "承認されたカメラ・期間の画像だけを再生します。閲覧の後、下の「提供の記録」に閲覧日時を記録してください。", "Plays only the approved cameras and period. After the viewing, record it below.";
    ret_ground "ret.ground" => "保存期間を過ぎて保存する根拠", "Ground for keeping it past its days";
    mask_title "mask.title" => "マスク処理した複製を作る", "Make a masked copy";
    mask_help "mask.help" => "第三者が映る部分を静止画の上でドラッグして囲むと、下の欄に1行ずつ追加されます（カメラ番号 x y 幅 高さ [開始秒 終了秒]、時間を省くとクリップ全体）。元の画像は変更されません。", "Drag over a still to enclose where third parties appear; each area is added below as a line (camera x y width height [from to seconds]; without seconds, the whole clip). The original is never changed.";
    mask_still "mask.still" => "静止画", "Still";
    mask_regions "mask.regions" => "塗りつぶす範囲", "Areas to fill";
    mask_reason "mask.reason" => "理由", "Reason";
    mask_reason_hint "mask.reason_hint" => "第三者が映り込んでいるため", "Third parties appear";
    mask_make "mask.make" => "マスク処理した複製を作成", "Make the masked copy";
    mask_copy_of "mask.copy_of" => "マスク処理した複製（元: #", "Masked copy (of #";
    agr_title "agr.title" => "警察署との協定", "Police agreements";
    agr_station "agr.station" => "警察署", "Police station";
    agr_station_hint "agr.station_hint" => "警察署のアカウントの所属と同じ名称", "As the organisation of the station's accounts";
    agr_terms "agr.terms" => "協定の内容", "Terms";
    agr_period "agr.period" => "有効期間", "Valid";
    agr_from "agr.from" => "開始", "From";
    agr_until "agr.until" => "終了", "Until";
    agr_new "agr.new" => "協定を記録する", "Record an agreement";
    agr_suspend "agr.suspend" => "直ちに停止する", "Suspend now";
    agr_suspend_reason "agr.suspend_reason" => "停止の理由", "Reason for the suspension";
    agr_resume "agr.resume" => "停止を解除する", "Lift the suspension";
    agr_in_force "agr.in_force" => "有効", "In force";
    agr_suspended "agr.suspended" => "停止中", "Suspended";
    agr_not_in_period "agr.not_in_period" => "期間外", "Outside its period";
    agr_requests "agr.requests" => "協定に基づく抽出", "Extractions under it";
    agr_none "agr.none" => "記録された協定はありません。", "No agreement is recorded.";
    agr_station_title "agr.station_title" => "協定に基づく閲覧・抽出", "Viewing and extraction under the agreement";
    agr_reason "agr.reason" => "利用目的", "Purpose of use";
    agr_extract "agr.extract" => "抽出する（証拠パッケージを作成）", "Extract (build the evidence package)";
    agr_mine "agr.mine" => "抽出の記録", "Extractions";
    agr_view_cameras "agr.view_cameras" => "カメラの映像を見る", "View the cameras";
    nav_agreement "nav.agreement" => "協定に基づく抽出", "Extraction";
    nav_records "nav.records" => "記録簿", "Records";
    rec_complaints "rec.complaints" => "苦情・問い合わせ", "Complaints and inquiries";
    rec_media "rec.media" => "記録媒体の台帳", "Media register";
    rec_report "rec.report" => "運用状況の報告（年度）", "Yearly report";
    rec_due "rec.due" => "回答期限", "Answer due";
    rec_overdue "rec.overdue" => "期限超過", "Overdue";
    rec_open "rec.open" => "対応中", "Open";
    rec_closed "rec.closed" => "完了", "Closed";
    rec_receive "rec.receive" => "受け付ける", "Record intake";
    rec_new_complaint "rec.new_complaint" => "苦情・問い合わせの受付", "Take in a complaint or inquiry";
    rec_kind "rec.kind" => "種別", "Kind";
    rec_received "rec.received" => "受付日時", "Received";
    rec_channel "rec.channel" => "受付方法", "Channel";
    rec_summary "rec.summary" => "内容", "What was said";
    rec_contact "rec.contact" => "連絡先（申出があった場合のみ）", "Contact (only if given)";
    rec_owner "rec.owner" => "担当者", "Owner";
    rec_response "rec.response" => "対応内容", "Response";
    rec_close "rec.close" => "対応を記録して完了", "Record the response and close";
    rec_register_medium "rec.register_medium" => "記録媒体を登録", "Register a medium";
    rec_dispose "rec.dispose" => "廃棄を開始（自分の確認を記録）", "Begin disposal (records your confirmation)";
    rec_confirm "rec.confirm" => "廃棄を確認する", "Confirm the disposal";
    rec_method "rec.method" => "廃棄方法", "Method";
    rec_note "rec.note" => "備考", "Note";
    rec_held "rec.held" => "保管中", "Held";
    rec_pending "rec.pending" => "廃棄確認待ち", "Disposal pending";
    rec_disposed "rec.disposed" => "廃棄済み", "Disposed of";
    rec_confirmed_by "rec.confirmed_by" => "確認者", "Confirmed by";
    rec_needs_manager "rec.needs_manager" => "管理責任者の確認が必要", "the manager must confirm";
    rec_more "rec.more" => "あと確認が必要な人数", "confirmations still needed";
    rec_checks "rec.checks" => "見直し・点検・表示", "Reviews, inspections, signs";
    rec_sign "rec.sign" => "表示板（A4）", "Sign (A4)";
    rec_sign_photo "rec.sign_photo" => "表示の写真", "Photo of the sign";
    rec_sign_photo_add "rec.sign_photo_add" => "写真を登録", "Add a photo";
    rec_record_check "rec.record_check" => "実施を記録", "Record a check";
    rec_done_on "rec.done_on" => "実施日", "Done on";
    rec_done_by "rec.done_by" => "実施者（業者名）", "Done by (company)";
    rec_outcome "rec.outcome" => "結果", "Findings";
    rec_action "rec.action" => "措置", "Action";
    rec_history "rec.history" => "実施の記録", "History";
    rec_attention "rec.attention" => "記録簿の期限超過", "Overdue records";
    rec_regulation "rec.regulation" => "運用規程（ポリシーから生成）", "Regulation (from the policy)";
    rec_personal_file "rec.personal_file" => "個人情報ファイル簿", "Personal information file register";
    error_title "error.title" => "エラー", "Error";
    error_back "error.back" => "戻る", "Back";
}

/// The label of a recorder state (`starting`, `recording`, …).
pub fn status_label(s: &Strings, state: &str) -> &'static str {
    match state {
        "starting" => s.status_starting,
        "recording" => s.status_recording,
        "reconnecting" => s.status_reconnecting,
        "failing" => s.status_failing,
        _ => s.status_stopped,
    }
}

/// All strings of a language as JSON, for the page script.
pub fn json_table(lang: Lang) -> String {
    let s = lang.strings();
    let map: serde_json::Map<String, serde_json::Value> = KEYS
        .iter()
        .map(|(k, _, get)| {
            (
                (*k).to_string(),
                serde_json::Value::String(get(s).to_string()),
            )
        })
        .collect();
    serde_json::Value::Object(map).to_string()
}

pub use mimamori_base::time::{japanese_date, japanese_era_year};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_has_both_languages_and_its_field_name() {
        for (key, field, get) in KEYS {
            assert!(!get(&JA).is_empty() && !get(&EN).is_empty(), "{key}");
            assert_eq!(key.replace('.', "_"), *field, "{key}");
        }
    }

    /// The page script looks strings up by key at run time: each key it uses exists.
    #[test]
    fn every_key_the_page_script_uses_exists() {
        let js = include_str!("../../assets/app.js");
        let keys: std::collections::HashSet<&str> = KEYS.iter().map(|(k, ..)| *k).collect();
        let mut used = Vec::new();
        for part in js.split("S['").skip(1) {
            used.push(part.split('\'').next().unwrap_or_default().to_string());
        }
        for part in js.split("S[`").skip(1) {
            // `gap.${g.reason}`: every gap reason the recorder writes.
            let prefix = part.split("${").next().unwrap_or_default();
            for reason in [
                "unreachable",
                "auth_failed",
                "stalled",
                "stream_ended",
                "stream_error",
                "recorder_stopped",
                "node_handover",
            ] {
                used.push(format!("{prefix}{reason}"));
            }
        }
        assert!(used.len() >= 5, "{used:?}");
        for k in &used {
            assert!(
                keys.contains(k.as_str()),
                "app.js uses {k:?}, which the table lacks"
            );
        }
    }
}
