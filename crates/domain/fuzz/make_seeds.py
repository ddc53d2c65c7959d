#!/usr/bin/env python3
"""Writes the seed corpora under corpus/<target>/ (run from anywhere).

The seeds are small files shaped like real exports, so the fuzzer starts
from inputs that get past encoding detection and header mapping. Files the
fuzzer adds to corpus/ later are kept beside these; re-running this script
only rewrites the seeds it names.
"""

import io
import os
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))

TEMPLATE = (
    "patient_account_number,patient_id,last_name,first_name,date_of_birth,"
    "patient_balance,insurance_balance,balance_as_of,reference,provider_npi,location,"
    "oldest_service_date,aged_0_30,aged_31_60,aged_61_90,aged_91_120,aged_over_120"
)


def write(target, name, data):
    folder = os.path.join(HERE, "corpus", target)
    os.makedirs(folder, exist_ok=True)
    if isinstance(data, str):
        data = data.encode("utf-8")
    with open(os.path.join(folder, name), "wb") as f:
        f.write(data)


def lines(rows, eol="\n"):
    return eol.join(rows) + eol


def parse_file_seeds():
    t = "parse_file"
    # The template as downloaded, LF, with every column filled.
    write(t, "template.csv", lines([
        TEMPLATE,
        "000123,,Peña,Zoë,1984-03-07,125.50,310.00,2026-11-20,Old EHR acct 123,1234567893,Main St Office,2025-06-14,100.00,100.00,100.00,100.00,35.50",
        "000456,P-10042,Nguyễn,Thị,1970-01-01,-20.00,0,2026-11-20,credit,,,,,,,,",
        "000789,,Doe,Jane,1990-12-31,0.00,0.00,,,,,,,,,,",
    ]))
    # Excel "CSV UTF-8": BOM, CRLF, synonyms, US money and dates.
    write(t, "excel_bom_crlf.csv", b"\xef\xbb\xbf" + lines([
        "Acct #,Last Name,First Name,DOB,Pt Bal,Ins Bal,As Of,Notes",
        '000123,Peña,Zoë,3/7/1984,"$1,234.50",$0.00,11/20/2026,',
        "000124,Smith,John,12/31/1950,(12.00),45.10,11/20/2026 0:00,credit",
        "000125,O'Brien,Máire,1/2/2000,12.00 CR,,11/20/2026 12:00:00 AM,",
        '000126,Lee,Ann,03/07/1984,"$ 12","1,000.00",,"note, with comma"',
    ], "\r\n").encode("utf-8"))
    # Plain Excel "CSV" on Windows: Windows-1252 bytes (ñ, ë, ü, €).
    write(t, "windows1252.csv", lines([
        "Chart #,Surname,Given Name,Birth Date,Balance Due,Insurance Due",
        "A-1,Peña,Zoë,3/7/1984,€12.50,0",
        "A-2,Müller,Jürgen,7/3/1955,1.00-,",
        "A-3,Façade,Cœur,2/29/2000,99999,",
    ], "\r\n").encode("cp1252"))
    # Excel "Unicode text": UTF-16LE with BOM, tab-separated.
    write(t, "unicode_text_utf16le.txt", b"\xff\xfe" + lines([
        "Account Number\tLast\tFirst\tDate of Birth\tPatient Balance\tInsurance Balance",
        "000123\tPeña\tZoë\t1984-03-07\t125.50\t310",
        "000456\t\u5f20\t\u4f1f\t1966-06-06\t$1,000.00\t",
    ], "\r\n").encode("utf-16-le"))
    write(t, "utf16be.txt", b"\xfe\xff" + lines([
        "mrn\tlname\tfname\tdob\tbal",
        "9\tRoe\tBo\t1990-01-01\t1",
    ]).encode("utf-16-be"))
    # European export: ';', decimal commas, NBSP thousands, day/month/year.
    # The first byte 'O' picks the comma style and D/M/YYYY for the second run.
    write(t, "semicolon_decimal_comma.csv", lines([
        "Office;Account;Last;First;DOB;Balance;Ins Bal;As of",
        "Nord;000123;Peña;Zoë;07.03.1984;1.234,56;0;20.11.2026",
        "Nord;000124;Dupont;Amélie;31/12/1970;1\u00a0234,56;(12,00);20-11-2026",
        "Süd;000125;Rossi;Luca;1/2/2000;12,00 CR;€ 5,00;",
        "Süd;000126;Kowalski;Jan;13/13/1990;12.50;;",
    ], "\r\n"))
    # Quoted fields with delimiters, doubled quotes and line breaks inside.
    write(t, "quoted_multiline.csv", lines([
        '"patient_account_number","last_name","first_name","date_of_birth","patient_balance","reference"',
        '"001","Doe","Jane","1980-01-02","10.00","line one\nline two"',
        '"002","O""Neil","Pat","1980-01-02","1,234.00","a, b; c\r\nd"',
        '',
        '"003","Multi',
        'Line","Al","1970-05-06","5",""',
        '"004","Unclosed,"Bo","1970-05-06","5",',
    ]))
    # Ragged rows, blank lines, separators only, trailing spaces.
    write(t, "ragged.csv", lines([
        "account,last name,first name,birthdate,balance,insurance balance",
        "1,Doe",
        "",
        ",,,,,",
        "   ",
        "2,Roe,Bo,1990-01-01,1,2,3,4,5",
        "3 , Poe , Ed , 1809-01-19 , 100000.01 ,",
        "4,Loe,Al,2027-01-01,0,0",
    ]))
    # Pipe-delimited EHR export with aging buckets, NPI, oldest DOS.
    write(t, "pipe_aging.txt", lines([
        "Acct No|Pt Last Name|Pt First Name|Patient DOB|Pt Bal|Ins Bal|Rendering NPI|Facility|Oldest DOS|0-30|31-60|61-90|91-120|120+",
        "77|Doe|Jane|1980-01-02|100|50|1234567893|Main|2025-06-14|100|25|25|0|0",
        "78|Roe|Bo|1980-01-02|100|50|1234567890|Main|2099-01-01|100|25|0|0|0",
        "79|Poe|Ed|1980-01-02|1|0|123456789|Main|6/14/2025|1|x|||",
    ]))
    # Old Mac exports: CR only.
    write(t, "mac_cr.csv", lines([
        "patient_id,last_name,first_name,date_of_birth,patient_balance",
        "P1,Doe,Jane,1980-01-02,1",
        "P2,Roe,Bo,1980-01-02,2",
    ], "\r"))
    # Explicit mapping (first byte 'P' turns it on): Pt Bal, Acct #, Amt, Notes.
    write(t, "mapped_headers.csv", lines([
        "Pt Bal,Acct #,Amt,Notes,Last,First,DOB",
        "12.00,1,3.00,ignored,Doe,Jane,1980-01-02",
    ]))
    # Money and date styles one per row, default header.
    money = ["$1,234.50", "(12.00)", "12.00 CR", "-12.00", "12.00-", "+5", "1,23",
             "12.345", "1,000,000,000,000.00", "€ 12", "$(12.00)", "12 00", "1e3", "0.00", "-0"]
    dates = ["3/7/1984", "1984-03-07", "03-07-1984", "7.3.1984", "3/7/84", "13/7/1984",
             "2/30/2020", "1/2/1899", "3/7/1984 12:00 AM", "3/7/1984 13:45", "1984-3-7",
             "3/7/1984 00:00:00.000", "2026-11-21", "0/0/0000", "12/31/9999"]
    rows = ["patient_account_number,last_name,first_name,date_of_birth,patient_balance,balance_as_of"]
    for i, (m, d) in enumerate(zip(money, dates)):
        rows.append(f'{i},Doe,Jane,{d},"{m}",{d}')
    write(t, "money_and_dates.csv", lines(rows))
    # Excel's guard for leading zeros: ="000123", quoted as Excel quotes it.
    write(t, "excel_guarded.csv", lines([
        "Acct #,Last Name,First Name,DOB,Pt Bal",
        '"=""000123""",Doe,Jane,1980-01-02,"=""10.00"""',
        '="000124",Roe,Bo,1980-01-02,1',
        '"=""a""b""",Poe,Ed,1980-01-02,1',
    ], "\r\n"))
    # Whole-file failures: no header, missing and duplicate columns.
    write(t, "no_header.csv", lines(["1,Doe,Jane,1980-01-02,10.00", "2,Roe,Bo,1980-01-02,1"]))
    write(t, "missing_columns.csv", lines(["Acct,Last Nme,First,DOB", "1,Doe,Jane,1980-01-02"]))
    write(t, "duplicate_columns.csv", lines(["Acct,Account #,Last,First,DOB,Balance", "1,1,Doe,Jane,1980-01-02,1"]))


def parse_cells_seeds():
    t = "parse_cells"
    write(t, "money.txt", lines(["$1,234.50", "(12.00)", "12.00 CR", "1.234,56", "1\u00a0234,56",
                                 "-12.00", "12.00-", "+ $12.00", "€12,50", "999,999,999,999.99"]))
    write(t, "dates.txt", lines(["3/7/1984", "1984-03-07", "31.12.1970", "3/7/84", "13/7/1984",
                                 "2/30/2020", "3/7/1984 12:00 AM", "3/7/1984 0:00", "7-3-1984 13:45"]))
    write(t, "headers.txt", lines(["Acct #", "Pt Bal", "DOB", "Name, Last", "dateOfBirth",
                                   "Ins Bal", "120+", "0-30 days", "\ufeffPatient Account Number",
                                   "Chart #", "D.O.B."]))
    write(t, "header_row.txt", lines([TEMPLATE, "Acct #", "Last", "First", "DOB", "Pt Bal"]))
    write(t, "semicolon_header.txt", lines(["Konto;Nachname;Vorname;Geburtsdatum;Saldo",
                                            "Konto=patient_account_number", "Nachname=last_name",
                                            "Vorname=first_name", "Geburtsdatum=date_of_birth",
                                            "Saldo=patient_balance"]))
    write(t, "mapping_unknown.txt", lines(["Amt,Last,First,DOB,Acct", "Amt=not_a_column"]))


MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG_REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
XML = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'


def workbook(rows_xml, shared, compression, state="visible"):
    sst = "".join(f"<si><t>{s}</t></si>" for s in shared)
    parts = {
        "[Content_Types].xml": XML + '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
        '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
        '<Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
        '<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>'
        "</Types>",
        "_rels/.rels": XML + f'<Relationships xmlns="{PKG_REL_NS}"><Relationship Id="rId1" Type="{REL_NS}/officeDocument" Target="xl/workbook.xml"/></Relationships>',
        "xl/workbook.xml": XML + f'<workbook xmlns="{MAIN_NS}" xmlns:r="{REL_NS}"><sheets><sheet name="Balances" sheetId="1" state="{state}" r:id="rId1"/></sheets></workbook>',
        "xl/_rels/workbook.xml.rels": XML + f'<Relationships xmlns="{PKG_REL_NS}"><Relationship Id="rId1" Type="{REL_NS}/worksheet" Target="worksheets/sheet1.xml"/>'
        f'<Relationship Id="rIdS" Type="{REL_NS}/styles" Target="styles.xml"/><Relationship Id="rIdT" Type="{REL_NS}/sharedStrings" Target="sharedStrings.xml"/></Relationships>',
        "xl/styles.xml": XML + f'<styleSheet xmlns="{MAIN_NS}"><numFmts count="2"><numFmt numFmtId="164" formatCode="yyyy\\-mm\\-dd"/><numFmt numFmtId="165" formatCode="[h]:mm:ss"/></numFmts>'
        '<cellXfs count="4"><xf numFmtId="0"/><xf numFmtId="164" applyNumberFormat="1"/><xf numFmtId="14" applyNumberFormat="1"/><xf numFmtId="165" applyNumberFormat="1"/></cellXfs></styleSheet>',
        "xl/sharedStrings.xml": XML + f'<sst xmlns="{MAIN_NS}" count="{len(shared)}" uniqueCount="{len(shared)}">{sst}</sst>',
        "xl/worksheets/sheet1.xml": XML + f'<worksheet xmlns="{MAIN_NS}"><sheetData>{rows_xml}</sheetData></worksheet>',
    }
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression) as z:
        for name, body in parts.items():
            info = zipfile.ZipInfo(name, date_time=(2026, 1, 1, 0, 0, 0))
            info.compress_type = compression
            z.writestr(info, body.encode("utf-8"))
    return out.getvalue()


def xlsx_seeds():
    t = "xlsx"
    shared = ["patient_account_number", "last_name", "first_name", "date_of_birth",
              "patient_balance", "Peña", "Nguyễn"]
    rows = (
        '<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c><c r="C1" t="s"><v>2</v></c><c r="D1" t="s"><v>3</v></c><c r="E1" t="s"><v>4</v></c></row>'
        '<row r="2"><c r="A2"><v>123</v></c><c r="B2" t="s"><v>5</v></c><c r="C2" t="inlineStr"><is><t>Zoë</t></is></c><c r="D2" s="1"><v>45658</v></c><c r="E2"><v>1234.5</v></c></row>'
        '<row r="3"><c r="A3" t="str"><v>00456</v></c><c r="B3" t="s"><v>6</v></c><c r="C3" t="inlineStr"><is><t xml:space="preserve"> Thị </t></is></c><c r="D3" s="2"><v>29221.75</v></c><c r="E3"><v>-45.67</v></c></row>'
        '<row r="5"><c r="A5" t="b"><v>1</v></c><c r="C5" t="e"><v>#N/A</v></c><c r="D5" s="3"><v>1.5</v></c><c r="E5"><v>0.30000000000000004</v></c></row>'
    )
    write(t, "balances_stored.xlsx", workbook(rows, shared, zipfile.ZIP_STORED))
    write(t, "balances_deflated.xlsx", workbook(rows, shared, zipfile.ZIP_DEFLATED))
    # Cells out of order and a repeated position (non-Excel producers).
    unordered = (
        '<row r="2"><c r="E2"><v>1</v></c><c r="A2"><v>7</v></c><c r="B2" t="inlineStr"><is><t>Doe</t></is></c></row>'
        '<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c><c r="C1" t="s"><v>2</v></c><c r="D1" t="s"><v>3</v></c><c r="E1" t="s"><v>4</v></c></row>'
        '<row r="2"><c r="C2" t="inlineStr"><is><t>Jane</t></is></c><c r="D2" s="1"><v>60</v></c><c r="A2"><v>8</v></c></row>'
    )
    write(t, "unordered_stored.xlsx", workbook(unordered, shared, zipfile.ZIP_STORED))

    # xlsx_sheet: the sheet's XML, NUL, the shared strings' XML.
    t = "xlsx_sheet"

    def sheet_seed(rows_xml, strings):
        sheet = XML + f'<worksheet xmlns="{MAIN_NS}"><sheetData>{rows_xml}</sheetData></worksheet>'
        sst = "".join(f"<si><t>{s}</t></si>" for s in strings)
        sst = XML + f'<sst xmlns="{MAIN_NS}" count="{len(strings)}" uniqueCount="{len(strings)}">{sst}</sst>'
        return sheet.encode("utf-8") + b"\0" + sst.encode("utf-8")

    write(t, "balances.bin", sheet_seed(rows, shared))
    write(t, "unordered.bin", sheet_seed(unordered, shared))
    # Numbers and dates as Excel stores them: binary noise, serials around
    # the fictitious 1900-02-29, the end of the calendar, durations, errors.
    numbers = (
        '<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c><c r="C1" t="s"><v>2</v></c><c r="D1" t="s"><v>3</v></c><c r="E1" t="s"><v>4</v></c><c r="F1" t="inlineStr"><is><t>Oldest DOS</t></is></c></row>'
        '<row r="2"><c r="A2"><v>1E+20</v></c><c r="B2" t="inlineStr"><is><t>Doe</t></is></c><c r="C2" t="inlineStr"><is><t>Jane</t></is></c><c r="D2" s="2"><v>59</v></c><c r="E2"><v>1358.9500000000001</v></c><c r="F2" s="1"><v>2958465.99</v></c></row>'
        '<row r="3"><c r="A3"><v>-0</v></c><c r="B3" t="inlineStr"><is><t>Roe</t></is></c><c r="C3" t="inlineStr"><is><t>Bo</t></is></c><c r="D3" s="2"><v>61</v></c><c r="E3"><v>1.005</v></c><c r="F3" s="1"><v>2958466</v></c></row>'
        '<row r="4"><c r="A4"><v>4</v></c><c r="B4" t="inlineStr"><is><t>Poe</t></is></c><c r="C4" t="inlineStr"><is><t>Ed</t></is></c><c r="D4" s="1"><v>0</v></c><c r="E4" t="e"><v>#DIV/0!</v></c><c r="F4" s="3"><v>-1</v></c></row>'
        '<row r="9"><c r="XFD9" t="inlineStr"><is><t>far</t></is></c></row>'
    )
    write(t, "numbers_dates.bin", sheet_seed(numbers, shared))


if __name__ == "__main__":
    parse_file_seeds()
    parse_cells_seeds()
    xlsx_seeds()
