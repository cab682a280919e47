//! Official forms as PDF (様式): a typst template of this crate, laid out by the
//! typst engine with the record's data given as JSON (never spliced into the
//! template, so nothing a person typed can change the layout), in a Japanese
//! font found on the system (Debian's `fonts-ipaexfont-gothic` or
//! `fonts-noto-cjk`, or the file `MIMAMORI_FONT` names), embedded as a subset. The
//! yearly report, a static page and CSV rather than a form, is [`report`].

pub mod document;
pub mod report;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use typst::diag::{FileError, FileResult};
use typst::foundations::{Bytes, Datetime, Duration};
use typst::syntax::{FileId, RootedPath, Source, VirtualPath, VirtualRoot};
use typst::text::{Font, FontBook};
use typst::utils::LazyHash;
use typst::{Library, LibraryExt, World};

/// The forms this crate lays out.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Form {
    /// 画像提供申請書 (Midori 様式第1号; the fields every seed's written request needs).
    Request,
    /// The register (記録簿・台帳) in landscape, columns given by the data.
    Register,
    /// The covering letter of a provision (送付書), with the fingerprint to compare.
    Letter,
    /// The A4 sign of a camera's area (設置の表示).
    Sign,
    /// A document of sections ([`document::Document`]): the regulation, the
    /// 個人情報ファイル簿 entry, the yearly report.
    Document,
}

impl Form {
    fn template(self) -> &'static str {
        match self {
            Form::Request => include_str!("templates/request.typ"),
            Form::Register => include_str!("templates/register.typ"),
            Form::Letter => include_str!("templates/letter.typ"),
            Form::Sign => include_str!("templates/sign.typ"),
            Form::Document => include_str!("templates/document.typ"),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum FormError {
    #[error(
        "no Japanese font found for PDF forms: install fonts-ipaexfont-gothic (apt install fonts-ipaexfont-gothic) \
         or set MIMAMORI_FONT to a .ttf/.otf/.ttc file; looked at {0}"
    )]
    NoFont(String),
    #[error("laying out the form failed: {0}")]
    Layout(String),
}

/// Where Debian puts Japanese fonts, in order of preference.
const FONT_PATHS: &[&str] = &[
    "/usr/share/fonts/opentype/ipaexfont-gothic/ipaexg.ttf",
    "/usr/share/fonts/truetype/ipaexfont-gothic/ipaexg.ttf",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/opentype/ipafont-gothic/ipag.ttf",
    "/usr/share/fonts/truetype/fonts-japanese-gothic.ttf",
];

fn font_candidates() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::env::var_os("MIMAMORI_FONT")
        .map(PathBuf::from)
        .into_iter()
        .collect();
    v.extend(FONT_PATHS.iter().map(PathBuf::from));
    v
}

/// The fonts, loaded once.
fn fonts() -> Result<&'static [Font], FormError> {
    static FONTS: OnceLock<Vec<Font>> = OnceLock::new();
    if let Some(f) = FONTS.get() {
        return Ok(f);
    }
    let candidates = font_candidates();
    let found = candidates.iter().find_map(|p: &PathBuf| {
        let data = std::fs::read(Path::new(p)).ok()?;
        let fonts: Vec<Font> = Font::iter(Bytes::new(data)).collect();
        (!fonts.is_empty()).then_some(fonts)
    });
    match found {
        Some(f) => Ok(FONTS.get_or_init(|| f)),
        None => Err(FormError::NoFont(
            candidates
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", "),
        )),
    }
}

/// One form to lay out: its template and its data.
struct FormWorld {
    library: LazyHash<Library>,
    book: LazyHash<FontBook>,
    fonts: &'static [Font],
    main: Source,
    data: FileId,
    json: Bytes,
}

fn file_id(path: &str) -> Result<FileId, FormError> {
    let vpath = VirtualPath::new(path).map_err(|e| FormError::Layout(format!("{e:?}")))?;
    Ok(FileId::new(RootedPath::new(VirtualRoot::Project, vpath)))
}

impl World for FormWorld {
    fn library(&self) -> &LazyHash<Library> {
        &self.library
    }

    fn book(&self) -> &LazyHash<FontBook> {
        &self.book
    }

    fn main(&self) -> FileId {
        self.main.id()
    }

    fn source(&self, id: FileId) -> FileResult<Source> {
        if id == self.main.id() {
            Ok(self.main.clone())
        } else {
            Err(FileError::NotFound(PathBuf::from("(only the form itself)")))
        }
    }

    fn file(&self, id: FileId) -> FileResult<Bytes> {
        if id == self.data {
            Ok(self.json.clone())
        } else {
            Err(FileError::NotFound(PathBuf::from("(only data.json)")))
        }
    }

    fn font(&self, index: usize) -> Option<Font> {
        self.fonts.get(index).cloned()
    }

    fn today(&self, _offset: Option<Duration>) -> Option<Datetime> {
        None
    }
}

/// Lays out `form` with `data` (read by the template as `data.json`) into a PDF.
pub fn render(form: Form, data: &serde_json::Value) -> Result<Vec<u8>, FormError> {
    let fonts = fonts()?;
    let world = FormWorld {
        library: LazyHash::new(Library::default()),
        book: LazyHash::new(FontBook::from_fonts(fonts)),
        fonts,
        main: Source::new(file_id("/form.typ")?, form.template().to_string()),
        data: file_id("/data.json")?,
        json: Bytes::new(serde_json::to_vec(data).map_err(|e| FormError::Layout(e.to_string()))?),
    };
    let doc = typst::compile::<typst_layout::PagedDocument>(&world)
        .output
        .map_err(|e| {
            FormError::Layout(
                e.iter()
                    .map(|d| d.message.to_string())
                    .collect::<Vec<_>>()
                    .join("; "),
            )
        })?;
    typst_pdf::pdf(&doc, &typst_pdf::PdfOptions::default()).map_err(|e| {
        FormError::Layout(
            e.iter()
                .map(|d| d.message.to_string())
                .collect::<Vec<_>>()
                .join("; "),
        )
    })
}
