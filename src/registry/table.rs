//! Tabular files in and out: CSV (UTF-8 with or without BOM, or GBK) and XLSX.
//!
//! Reading yields rows of text cells keyed by the header row; which header means which
//! field is the importer's business (`registry::import`).

use std::io::Cursor;

use calamine::{Data, Reader, Xlsx};

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum TableError {
    #[error("the file is empty")]
    Empty,
    #[error("the file is neither UTF-8 nor GBK text")]
    Encoding,
    #[error("CSV error at line {line}: {message}")]
    Csv { line: u64, message: String },
    #[error("not a readable XLSX workbook: {0}")]
    Xlsx(String),
    #[error("unsupported file type: send .csv or .xlsx")]
    UnsupportedType,
}

/// A sheet: its header cells and data rows, each with the line number a user sees
/// (1-based, counting the header as line 1).
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    pub headers: Vec<String>,
    pub rows: Vec<(u64, Vec<String>)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    Xlsx,
}

impl Format {
    /// From a file name's extension, or failing that from the bytes (XLSX is a ZIP file).
    pub fn detect(file_name: Option<&str>, bytes: &[u8]) -> Result<Format, TableError> {
        let ext = file_name.and_then(|n| n.rsplit_once('.')).map(|(_, e)| e.to_ascii_lowercase());
        match ext.as_deref() {
            Some("csv") | Some("txt") => Ok(Format::Csv),
            Some("xlsx") => Ok(Format::Xlsx),
            Some("xls") => Err(TableError::UnsupportedType),
            _ if bytes.starts_with(b"PK\x03\x04") => Ok(Format::Xlsx),
            _ => Ok(Format::Csv),
        }
    }
}

pub fn read(format: Format, bytes: &[u8]) -> Result<Table, TableError> {
    match format {
        Format::Csv => read_csv(bytes),
        Format::Xlsx => read_xlsx(bytes),
    }
}

/// Decodes text that is UTF-8 (with or without BOM) or, failing that, GBK — what Excel on a
/// Chinese Windows saves as "CSV".
pub fn decode_text(bytes: &[u8]) -> Result<String, TableError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    if let Ok(s) = std::str::from_utf8(bytes) {
        return Ok(s.to_string());
    }
    let (text, had_errors) = encoding_rs::GBK.decode_without_bom_handling(bytes);
    if had_errors {
        return Err(TableError::Encoding);
    }
    Ok(text.into_owned())
}

fn read_csv(bytes: &[u8]) -> Result<Table, TableError> {
    let text = decode_text(bytes)?;
    let mut reader = csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(text.as_bytes());
    let mut headers: Option<Vec<String>> = None;
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| TableError::Csv {
            line: e.position().map(|p| p.line()).unwrap_or(0),
            message: e.to_string(),
        })?;
        let line = record.position().map(|p| p.line()).unwrap_or(0);
        let cells: Vec<String> = record.iter().map(|c| c.trim().to_string()).collect();
        if cells.iter().all(String::is_empty) {
            continue;
        }
        match headers {
            None => headers = Some(cells),
            Some(_) => rows.push((line, cells)),
        }
    }
    Ok(Table { headers: headers.ok_or(TableError::Empty)?, rows })
}

fn cell_text(d: &Data) -> String {
    match d {
        Data::Empty => String::new(),
        Data::String(s) => s.trim().to_string(),
        // Whole numbers (codes, counts) must not come out as "120114001.0".
        Data::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", *f as i64),
        Data::Float(f) => f.to_string(),
        Data::Int(i) => i.to_string(),
        Data::Bool(b) => b.to_string(),
        other => other.to_string(),
    }
}

fn read_xlsx(bytes: &[u8]) -> Result<Table, TableError> {
    let mut wb: Xlsx<_> = calamine::open_workbook_from_rs(Cursor::new(bytes)).map_err(|e: calamine::XlsxError| TableError::Xlsx(e.to_string()))?;
    let range = wb
        .worksheet_range_at(0)
        .ok_or(TableError::Empty)?
        .map_err(|e| TableError::Xlsx(e.to_string()))?;
    let first_row = range.start().map(|(r, _)| r as u64).unwrap_or(0);
    let mut headers: Option<Vec<String>> = None;
    let mut rows = Vec::new();
    for (i, row) in range.rows().enumerate() {
        let cells: Vec<String> = row.iter().map(cell_text).collect();
        if cells.iter().all(String::is_empty) {
            continue;
        }
        let line = first_row + i as u64 + 1;
        match headers {
            None => headers = Some(cells),
            Some(_) => rows.push((line, cells)),
        }
    }
    Ok(Table { headers: headers.ok_or(TableError::Empty)?, rows })
}

/// CSV with a UTF-8 BOM, so that Excel opens Chinese text correctly.
pub fn write_csv(headers: &[&str], rows: &[Vec<String>]) -> Result<Vec<u8>, csv::Error> {
    let mut out = b"\xEF\xBB\xBF".to_vec();
    {
        let mut w = csv::Writer::from_writer(&mut out);
        w.write_record(headers)?;
        for r in rows {
            w.write_record(r)?;
        }
        w.flush()?;
    }
    Ok(out)
}

pub fn write_xlsx(sheet_name: &str, headers: &[&str], rows: &[Vec<String>]) -> Result<Vec<u8>, rust_xlsxwriter::XlsxError> {
    use rust_xlsxwriter::{Format as XFormat, Workbook};
    let mut wb = Workbook::new();
    let bold = XFormat::new().set_bold();
    let ws = wb.add_worksheet();
    ws.set_name(sheet_name)?;
    for (c, h) in headers.iter().enumerate() {
        ws.write_string_with_format(0, c as u16, *h, &bold)?;
        ws.set_column_width(c as u16, 16)?;
    }
    for (r, row) in rows.iter().enumerate() {
        for (c, v) in row.iter().enumerate() {
            // Everything is written as text: credit codes and phone numbers are identifiers,
            // and Excel would mangle them as numbers.
            ws.write_string(r as u32 + 1, c as u16, v)?;
        }
    }
    ws.set_freeze_panes(1, 0)?;
    wb.save_to_buffer()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf8_with_bom_and_gbk_read_the_same() {
        let text = "名称,镇街\n甲化工,杨村街道\n";
        let utf8_bom = [b"\xEF\xBB\xBF".as_slice(), text.as_bytes()].concat();
        let (gbk, _, _) = encoding_rs::GBK.encode(text);
        let a = read(Format::Csv, &utf8_bom).expect("utf8");
        let b = read(Format::Csv, &gbk).expect("gbk");
        assert_eq!(a, b);
        assert_eq!(a.headers, vec!["名称", "镇街"]);
        assert_eq!(a.rows, vec![(2, vec!["甲化工".to_string(), "杨村街道".to_string()])]);
    }

    #[test]
    fn binary_garbage_is_not_taken_for_text() {
        assert_eq!(decode_text(&[0xff, 0xfe, 0x00, 0x81, 0xff]), Err(TableError::Encoding));
    }

    #[test]
    fn line_numbers_count_the_header_and_skip_blank_lines() {
        let t = read(Format::Csv, b"a,b\n1,2\n,\n3,4\n").expect("csv");
        assert_eq!(t.rows.iter().map(|r| r.0).collect::<Vec<_>>(), vec![2, 4]);
    }

    #[test]
    fn an_xlsx_export_reads_back_as_the_same_table() {
        let rows = vec![vec!["91120114MA05JXXA4B".to_string(), "120114001".to_string()]];
        let bytes = write_xlsx("企业", &["统一社会信用代码", "镇街代码"], &rows).expect("xlsx");
        assert_eq!(Format::detect(None, &bytes).expect("detect"), Format::Xlsx);
        let t = read(Format::Xlsx, &bytes).expect("read");
        assert_eq!(t.headers, vec!["统一社会信用代码", "镇街代码"]);
        assert_eq!(t.rows, vec![(2, rows[0].clone())]);
    }

    #[test]
    fn a_csv_export_starts_with_a_bom_and_reads_back() {
        let bytes = write_csv(&["名称"], &[vec!["甲".into()]]).expect("csv");
        assert!(bytes.starts_with(b"\xEF\xBB\xBF"));
        assert_eq!(read(Format::Csv, &bytes).expect("read").rows[0].1, vec!["甲"]);
    }
}
