//! Files as old EHRs and Excel really write them, through the real
//! services: every encoding, delimiter, header style, money and date style,
//! and every whole-file failure, each with its expected per-line outcome.

use bf_e2e::xlsx::{self, Cell};
use bf_e2e::Stack;
use reqwest::StatusCode;
use rust_decimal::Decimal;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::str::FromStr;
use std::time::Duration;

const TENANT: &str = "practice-rw";

fn directory() -> Value {
    json!([
        {"patient_id": "P-1", "patient_account_number": "000123", "last_name": "Peña", "first_name": "Zoë", "date_of_birth": "1984-03-07"},
        {"patient_id": "P-2", "patient_account_number": "A-77", "last_name": "Nguyễn", "first_name": "Minh", "date_of_birth": "1990-12-25"},
        {"patient_id": "P-3", "patient_account_number": "555", "last_name": "O'Brien", "first_name": "Seán", "date_of_birth": "1975-07-04"}
    ])
}

/// A file and what must become of it.
struct Case {
    name: &'static str,
    bytes: Vec<u8>,
    /// Query string of upload options.
    query: &'static str,
    /// line → status, when the file is read.
    lines: Vec<(i64, &'static str)>,
    /// A phrase the failure reason must contain, when the file fails.
    failure: Option<&'static str>,
}

fn text(
    name: &'static str,
    body: &str,
    query: &'static str,
    lines: &[(i64, &'static str)],
) -> Case {
    Case {
        name,
        bytes: body.as_bytes().to_vec(),
        query,
        lines: lines.to_vec(),
        failure: None,
    }
}

fn fails(name: &'static str, bytes: Vec<u8>, phrase: &'static str) -> Case {
    Case {
        name,
        bytes,
        query: "",
        lines: vec![],
        failure: Some(phrase),
    }
}

fn utf16(body: &str, little: bool) -> Vec<u8> {
    let mut out = if little {
        vec![0xFF, 0xFE]
    } else {
        vec![0xFE, 0xFF]
    };
    for unit in body.encode_utf16() {
        let b = if little {
            unit.to_le_bytes()
        } else {
            unit.to_be_bytes()
        };
        out.extend_from_slice(&b);
    }
    out
}

fn windows_1252(body: &str) -> Vec<u8> {
    body.chars()
        .map(|c| match c {
            'ñ' => 0xF1,
            'ë' => 0xEB,
            'á' => 0xE1,
            c if c.is_ascii() => c as u8,
            other => panic!("not in the test's 1252 table: {other}"),
        })
        .collect()
}

fn binary(name: &'static str, bytes: Vec<u8>, lines: &[(i64, &'static str)]) -> Case {
    Case {
        name,
        bytes,
        query: "",
        lines: lines.to_vec(),
        failure: None,
    }
}

/// Workbooks as billing leads save them from Excel.
fn workbooks() -> Vec<Case> {
    use Cell::{Blank, Date, Number as N, Text as T};
    let header = || {
        vec![
            T("Account Number"),
            T("Last Name"),
            T("First Name"),
            T("Date of Birth"),
            T("Patient Balance"),
            T("Insurance Balance"),
        ]
    };
    // Serials of the 1900 date system: 1990-12-25, 1975-07-04, 1984-03-07.
    let dates = xlsx::workbook(&xlsx::dense(vec![
        header(),
        vec![
            T("A-77"),
            T("Nguyễn"),
            T("Minh"),
            Date(33232),
            N("125.5"),
            N("10"),
        ],
        vec![
            T("555"),
            T("O'Brien"),
            T("Seán"),
            Date(27579),
            N("-12"),
            N("0"),
        ],
    ]));
    // The account column was numeric in Excel: 000123 became 123.
    let zeros = xlsx::workbook(&xlsx::dense(vec![
        header(),
        vec![N("123"), T("Peña"), T("Zoë"), Date(30748), N("40"), N("0")],
        vec![
            N("555"),
            T("O'Brien"),
            T("Seán"),
            Date(27579),
            N("3.25"),
            N("0"),
        ],
    ]));
    // Excel stores no trailing empty cells: the second row ends at its
    // balance, and must read as if the insurance cell were empty.
    let short = xlsx::workbook(&xlsx::dense(vec![
        header(),
        vec![T("555"), T("O'Brien"), T("Seán"), Date(27579), N("7.5")],
    ]));
    // Rows 3, 4 and 7 were deleted; row 6 keeps only formatting; line
    // numbers are the sheet's row numbers.
    let sparse = xlsx::workbook(&[
        (1, header()),
        (
            2,
            vec![
                T("000123"),
                T("Peña"),
                T("Zoë"),
                Date(30748),
                N("1"),
                N("0"),
            ],
        ),
        (
            5,
            vec![
                T("555"),
                T("O'Brien"),
                T("Seán"),
                Date(27579),
                N("2"),
                N("0"),
            ],
        ),
        (6, vec![Blank, Blank, T(""), Blank]),
        (
            8,
            vec![
                T("A-77"),
                T("Nguyễn"),
                T("Minh"),
                T("12/25/1990"),
                N("0"),
                N("0"),
            ],
        ),
    ]);
    // 2 MiB of whitespace that deflates to a few kilobytes.
    let bomb = xlsx::workbook_with_sheet_xml(&format!(
        r#"<row r="1"><c r="A1" t="inlineStr"><is><t>Acct</t></is></c></row>{}"#,
        " ".repeat(2 * 1024 * 1024)
    ));
    let mut corrupt = b"PK\x03\x04".to_vec();
    corrupt.extend((0..600u32).map(|i| (i * 37 % 251) as u8));
    vec![
        binary("excel-dates.xlsx", dates, &[(2, "valid"), (3, "valid")]),
        binary(
            "excel-zeros-lost.xlsx",
            zeros,
            &[(2, "flagged"), (3, "valid")],
        ),
        binary(
            "excel-sparse.xlsx",
            sparse,
            &[(2, "valid"), (5, "valid"), (8, "skipped")],
        ),
        binary("excel-short-row.xlsx", short, &[(2, "valid")]),
        fails("bomb.xlsx", bomb, "looks unsafe to open"),
        fails("corrupt.xlsx", corrupt, "zip archive is damaged"),
    ]
}

fn corpus() -> Vec<Case> {
    let template = "patient_account_number,patient_id,last_name,first_name,date_of_birth,patient_balance,insurance_balance,balance_as_of,reference";
    vec![
        text("excel-guarded-account.csv", "Acct,Last,First,DOB,Balance\n=\"000123\",Peña,Zoë,1984-03-07,5\n", "", &[(2, "valid")]),
        text("template.csv", &format!("{template}\n000123,,Peña,Zoë,1984-03-07,125.50,10,2026-11-20,r1\nA-77,,Nguyễn,Minh,1990-12-25,0,0,,\n"), "", &[(2, "valid"), (3, "skipped")]),
        text("bom-crlf.csv", &format!("\u{feff}{template}\r\n000123,,Peña,Zoë,1984-03-07,1.00,,,\r\n\r\n555,,O'Brien,Seán,1975-07-04,2.00,,,\r\n"), "", &[(2, "valid"), (4, "valid")]),
        Case { name: "excel-1252.csv", bytes: windows_1252("Account No;Last;First;DOB;Balance\r\n000123;Peña;Zoë;3/7/1984;$1,234.50\r\n"), query: "", lines: vec![(2, "valid")], failure: None },
        Case { name: "unicode-text-le.txt", bytes: utf16("Acct #\tSurname\tFirst Name\tBirth Date\tPt Bal\tIns Bal\r\nA-77\tNguyễn\tMinh\t12/25/1990\t(12.00)\t5.00\r\n", true), query: "", lines: vec![(2, "valid")], failure: None },
        Case { name: "unicode-text-be.txt", bytes: utf16("Chart Number\tLast\tFirst\tDOB\tPatient Responsibility\r\n555\tO'Brien\tSeán\t7/4/1975\t12.00 CR\r\n", false), query: "", lines: vec![(2, "valid")], failure: None },
        text("pipes-synonyms.txt", "Acct #|Last|First|DOB|Pt Bal|Ins Bal\n000123|Peña|Zoë|1984-03-07|12.00-|0\n", "", &[(2, "valid")]),
        text("camel-case.csv", "accountNumber,lastName,firstName,dateOfBirth,paymentBalance\n555,O'Brien,Seán,1975-07-04,7.25\n", "", &[(2, "valid")]),
        text("money-styles.csv", &format!("{template}\n000123,,Peña,Zoë,1984-03-07,\"$1,234.50\",,,\n555,,O'Brien,Seán,1975-07-04, (12.00) ,,,\nA-77,,Nguyễn,Minh,1990-12-25,1.234,,,\n"), "", &[(2, "valid"), (3, "valid"), (4, "invalid")]),
        text("decimal-comma.csv", "patient_account_number;last_name;first_name;date_of_birth;patient_balance\n000123;Peña;Zoë;07/03/1984;1.234,56\n", "?decimal_style=comma&date_format=day_month_year", &[(2, "valid")]),
        text("day-first-undeclared.csv", "Acct,Last,First,DOB,Balance\n000123,Peña,Zoë,25/03/1984,1\n555,O'Brien,Seán,4/7/75,1\n", "", &[(2, "invalid"), (3, "invalid")]),
        text("zeros-lost.csv", "Acct,Last,First,DOB,Balance\n123,Peña,Zoë,1984-03-07,5\n", "", &[(2, "flagged")]),
        text("ragged-and-multiline.csv", &format!("{template}\n000123,,\"Peña\nde la Cruz\",Zoë,1984-03-07,1,,,\n555,,O'Brien,Seán,1975-07-04,1\n\nA-77,,Nguyễn,Minh,1990-12-25,1,,,,extra\n"), "", &[(2, "flagged"), (4, "invalid"), (6, "invalid")]),
        text("cr-only.csv", &format!("{template}\r000123,,Peña,Zoë,1984-03-07,3,,,\r555,,O'Brien,Seán,1975-07-04,4,,,\r"), "", &[(2, "valid"), (3, "valid")]),
        text("mapped.csv", "Acct,Last,First,DOB,Amt,Balance\n555,O'Brien,Seán,1975-07-04,9.99,123\n", "?mapping=%7B%22Amt%22%3A%22patient_balance%22%2C%22Balance%22%3A%22%22%7D", &[(2, "valid")]),
        text("unknown-patient-and-future-birth.csv", "Acct,Last,First,DOB,Balance\n999,Nobody,X,1970-01-01,5\n555,O'Brien,Seán,2999-01-01,5\n", "", &[(2, "invalid"), (3, "invalid")]),
        fails("empty.csv", vec![], "empty"),
        fails("no-header.csv", b"000123,Pena,Zoe,1984-03-07,1.00\n".to_vec(), "not a header"),
        fails("missing-balance.csv", b"Acct,Last,First,DOB,Balanse\n1,a,b,1984-03-07,1\n".to_vec(), "closest: \"Balanse\""),
        text("synonyms-only.csv", "MRN,Surname,Given Name,Birthday,Amount Due,Insurance Due,Statement Date,Memo\n555,O'Brien,Seán,07/04/1975,$40.00,0,11/20/2026,old acct 555\n", "", &[(2, "valid")]),
        text("header-only.csv", &format!("{template}\r\n"), "", &[]),
        text("trailing-separators.csv", "Acct,Last,First,DOB,Balance,\n000123,Peña,Zoë,1984-03-07,5.00,\n555,O'Brien,Seán,1975-07-04,6.00,\n", "", &[(2, "valid"), (3, "valid")]),
        text("quoted.csv", &format!("{template}\n000123,,\"Peña\",Zoë,1984-03-07,\"1,234.50\",,,\"moved from \"\"old\"\" EHR, acct 123\"\n\"555\",,O'Brien,\"Seán\",1975-07-04,\"(2.00)\",,,\"a;b|c\td\"\n"), "", &[(2, "valid"), (3, "valid")]),
        text("tab-utf8.tsv", "Acct\tLast\tFirst\tDOB\tBalance\nA-77\tNguyễn\tMinh\t1990-12-25\t3.50\n000123\tPeña\tZoë\t3/7/1984\t4\n", "", &[(2, "valid"), (3, "valid")]),
        text("pipes-crlf.txt", "Acct|Last|First|DOB|Balance\r\n555|O'Brien|Seán|7/4/1975|12.00\r\n000123|Peña|Zoë|3/7/1984|1\r\n", "", &[(2, "valid"), (3, "valid")]),
        text("credits.csv", "Acct,Last,First,DOB,Balance\n000123,Peña,Zoë,1984-03-07,12.00CR\n555,O'Brien,Seán,1975-07-04,-$12.00\n", "", &[(2, "valid"), (3, "valid")]),
        text("midnight-times.csv", "Acct,Last,First,DOB,Balance\n000123,Peña,Zoë,3/7/1984 0:00,1\n555,O'Brien,Seán,1975-07-04 00:00:00,1\n", "", &[(2, "valid"), (3, "valid")]),
        text("two-digit-year.csv", "Acct,Last,First,DOB,Balance\n000123,Peña,Zoë,03/07/84,5\n", "", &[(2, "invalid")]),
        text("ceiling.csv", "Acct,Last,First,DOB,Balance,Ins Bal\n000123,Peña,Zoë,1984-03-07,\"$100,000.00\",0\n555,O'Brien,Seán,1975-07-04,100000.01,0\nA-77,Nguyễn,Minh,1990-12-25,1,150000\n", "", &[(2, "valid"), (3, "flagged"), (4, "flagged")]),
        text("aging.csv", "Acct,Last,First,DOB,Pt Bal,Ins Bal,Current,31-60,61-90,91-120,120+\n000123,Peña,Zoë,1984-03-07,100,50,100,25,25,0,0\n555,O'Brien,Seán,1975-07-04,100,0,50,0,0,0,0\nA-77,Nguyễn,Minh,1990-12-25,10,,,,,,10\n", "", &[(2, "valid"), (3, "flagged"), (4, "valid")]),
        text("npi.csv", "Acct,Last,First,DOB,Balance,Rendering NPI\n000123,Peña,Zoë,1984-03-07,5,1234567893\n555,O'Brien,Seán,1975-07-04,5,1234567890\n", "", &[(2, "valid"), (3, "invalid")]),
        text("duplicate-patient.csv", "Acct,Last,First,DOB,Balance\n555,O'Brien,Seán,1975-07-04,5\n000123,Peña,Zoë,1984-03-07,5\n555,O'Brien,Seán,1975-07-04,7\n", "", &[(2, "flagged"), (3, "valid"), (4, "flagged")]),
        text("new-patient-ids.csv", "Patient ID,Last,First,DOB,Balance\nP-3,O'Brien,Seán,1975-07-04,5\n", "", &[(2, "valid")]),
        text("same-patient-by-id-and-account.csv", "patient_id,Acct,Last,First,DOB,Balance\nP-3,,O'Brien,Seán,1975-07-04,5\n,555,O'Brien,Seán,1975-07-04,5\n", "", &[(2, "flagged"), (3, "flagged")]),
    ]
    .into_iter()
    .chain(workbooks())
    .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_corpus_of_real_world_exports_reads_every_line_as_expected() -> anyhow::Result<()> {
    let stack = Stack::start().await?;
    let api = stack.billing_lead(TENANT);
    api.load_patients(&directory()).await?;
    let http = bf_e2e::api::client();
    let token = bf_e2e::api::token(TENANT, "lead", &bf_e2e::api::ALL_ROLES);
    let cases = corpus();
    assert!(cases.len() >= 32, "the corpus has {} cases", cases.len());
    for case in cases {
        let response = http
            .post(format!(
                "{}/v1/imports/patient-balances{}",
                stack.gateway_url, case.query
            ))
            .bearer_auth(&token)
            .header("x-file-name", case.name)
            .body(case.bytes.clone())
            .send()
            .await?;
        assert_eq!(response.status(), StatusCode::ACCEPTED, "{}", case.name);
        let id = response.json::<Value>().await?["id"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let import = loop {
            let import = api.import(&id).await?;
            if ["ready_for_review", "failed"].contains(&import["status"].as_str().unwrap_or("")) {
                break import;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        if let Some(phrase) = case.failure {
            assert_eq!(import["status"], "failed", "{}", case.name);
            let reason = import["failure"].as_str().unwrap_or_default();
            assert!(reason.contains(phrase), "{}: {reason}", case.name);
            assert_eq!(
                import["counts"]["total"], 0,
                "{}: nothing but the failure is recorded",
                case.name
            );
            continue;
        }
        assert_eq!(
            import["status"], "ready_for_review",
            "{}: {}",
            case.name, import["failure"]
        );
        let mut got = BTreeMap::new();
        for status in ["valid", "flagged", "invalid", "skipped"] {
            for row in api.rows(&id, status).await? {
                got.insert(row["line"].as_i64().unwrap_or(0), status);
            }
        }
        let want: BTreeMap<i64, &str> = case.lines.iter().copied().collect();
        assert_eq!(
            got, want,
            "{} (encoding {}, delimiter {})",
            case.name, import["encoding"], import["delimiter"]
        );
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn names_and_amounts_come_through_exactly_and_the_mapping_is_part_of_the_import(
) -> anyhow::Result<()> {
    let stack = Stack::start().await?;
    let api = stack.billing_lead(TENANT);
    api.load_patients(&directory()).await?;
    let file = utf16("Acct #\tSurname\tFirst Name\tBirth Date\tPt Bal\r\nA-77\tNguyễn\tMinh\t12/25/1990\t(1,012.30)\r\n", true);
    let response = bf_e2e::api::client()
        .post(format!("{}/v1/imports/patient-balances", stack.gateway_url))
        .bearer_auth(bf_e2e::api::token(TENANT, "lead", &bf_e2e::api::ALL_ROLES))
        .body(file)
        .send()
        .await?;
    let id = response.json::<Value>().await?["id"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let import = api
        .wait_for(&id, &["ready_for_review"], Duration::from_secs(30))
        .await?;
    assert_eq!(import["encoding"], "UTF-16LE");
    assert_eq!(import["delimiter"], "\t");
    assert_eq!(
        import["header_mapping"][0],
        json!({"header": "Acct #", "column": "patient_account_number"})
    );
    assert_eq!(
        import["header_mapping"][4],
        json!({"header": "Pt Bal", "column": "patient_balance"})
    );
    let row = &api.rows(&id, "valid").await?[0];
    assert_eq!(row["values"]["last_name"], "Nguyễn");
    assert_eq!(row["patient_balance"], "-1012.30");
    assert_eq!(row["normalized"]["date_of_birth"], "1990-12-25");
    Ok(())
}

/// Sum of a patient's active BF claim lines, patient responsibility.
async fn posted(stack: &Stack, patient: &str) -> anyhow::Result<Decimal> {
    let total: Option<Decimal> = sqlx::query_scalar(
        "SELECT sum(l.charge) FROM claims c JOIN claim_lines l USING (claim_id)
          WHERE c.patient_id = $1 AND c.status = 'active' AND l.responsibility = 'patient'",
    )
    .bind(patient)
    .fetch_one(&stack.claims_db)
    .await?;
    Ok(total.unwrap_or_default())
}

#[tokio::test(flavor = "multi_thread")]
async fn importing_again_with_changed_balances_and_post_difference_leaves_each_patient_at_the_new_balance(
) -> anyhow::Result<()> {
    let stack = Stack::start().await?;
    let api = stack.billing_lead(TENANT);
    api.load_patients(&directory()).await?;
    let header = "patient_account_number,last_name,first_name,date_of_birth,patient_balance\n";
    let first = format!("{header}000123,Peña,Zoë,1984-03-07,100.00\n555,O'Brien,Seán,1975-07-04,50.00\nA-77,Nguyễn,Minh,1990-12-25,20.00\n");
    let id1 = api.upload("first.csv", &first).await?;
    api.wait_for(&id1, &["ready_for_review"], Duration::from_secs(30))
        .await?;
    assert_eq!(
        api.post(&format!("/v1/imports/{id1}/approve"))
            .await?
            .status,
        StatusCode::ACCEPTED
    );
    api.wait_for(&id1, &["completed"], Duration::from_secs(30))
        .await?;

    // Insurance paid some, one balance grew, one is unchanged.
    let second = format!("{header}000123,Peña,Zoë,1984-03-07,60.00\n555,O'Brien,Seán,1975-07-04,75.00\nA-77,Nguyễn,Minh,1990-12-25,20.00\n");
    let id2 = api.upload("second.csv", &second).await?;
    let review = api
        .wait_for(&id2, &["ready_for_review"], Duration::from_secs(30))
        .await?;
    assert_eq!(
        review["counts"]["flagged"], 3,
        "every patient already has a BF claim"
    );
    let flagged = api.rows(&id2, "flagged").await?;
    assert_eq!(flagged[0]["prior"]["patient_amount"], "100.00");
    assert_eq!(
        flagged[0]["problems"][0]["code"],
        "existing_balance_forward"
    );

    let preview = api
        .get(&format!(
            "/v1/imports/{id2}/posting?existing_balance_forward=post_difference"
        ))
        .await?;
    assert_eq!(preview.status, StatusCode::OK, "{}", preview.text);
    assert_eq!(preview.body["before"]["claims"], 0);
    assert_eq!(
        preview.body["after"]["claims"], 2,
        "nothing is posted for an unchanged balance"
    );
    assert_eq!(preview.body["after"]["patient_balance"], "-15.00");

    let save = api
        .post_json(
            &format!("/v1/imports/{id2}/approve"),
            &json!({"existing_balance_forward": "post_difference"}),
        )
        .await?;
    assert_eq!(save.status, StatusCode::ACCEPTED, "{}", save.text);
    api.wait_for(&id2, &["completed"], Duration::from_secs(30))
        .await?;
    for (patient, balance) in [("P-1", "60.00"), ("P-3", "75.00"), ("P-2", "20.00")] {
        assert_eq!(
            posted(&stack, patient).await?,
            Decimal::from_str(balance)?,
            "{patient}"
        );
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn the_error_report_lists_every_problem_as_in_the_file_with_formulas_neutralised(
) -> anyhow::Result<()> {
    let stack = Stack::start().await?;
    let api = stack.billing_lead(TENANT);
    api.load_patients(&directory()).await?;
    let csv = "Acct,Last,First,DOB,Balance,Notes\n000123,Peña,Zoë,1984-03-07,5,ok\n999,=HYPERLINK(\"x\"),X,1970-01-01,abc,@cmd\n555,O'Brien,Sean,1975-07-04,-3,+1\n";
    let id = api.upload("errors.csv", csv).await?;
    let import = api
        .wait_for(&id, &["ready_for_review"], Duration::from_secs(30))
        .await?;
    assert_eq!(
        import["counts"],
        json!({"total": 3, "valid": 1, "flagged": 1, "invalid": 1, "skipped": 0})
    );
    let report = api.get(&format!("/v1/imports/{id}/errors.csv")).await?;
    assert_eq!(report.status, StatusCode::OK);
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_reader(report.text.as_bytes());
    let header: Vec<String> = reader.headers()?.iter().map(str::to_string).collect();
    assert_eq!(
        header[..5],
        [
            "line",
            "status",
            "problem_column",
            "problem_code",
            "problem_message"
        ]
    );
    assert_eq!(
        header[5..],
        ["Acct", "Last", "First", "DOB", "Balance", "Notes"]
    );
    let rows: Vec<Vec<String>> = reader
        .records()
        .map(|r| r.map(|r| r.iter().map(str::to_string).collect()))
        .collect::<Result<_, _>>()?;
    let codes: Vec<(&str, &str)> = rows
        .iter()
        .map(|r| (r[0].as_str(), r[3].as_str()))
        .collect();
    assert_eq!(codes, [("3", "invalid_amount"), ("4", "identity_mismatch")]);
    assert_eq!(rows[0][6], "'=HYPERLINK(\"x\")");
    assert_eq!(rows[0][10], "'@cmd");
    assert_eq!(rows[1][9], "'-3");
    assert_eq!(rows[1][10], "'+1");
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn the_error_report_gives_a_lines_cells_as_written_when_every_column_was_read(
) -> anyhow::Result<()> {
    // Every header is a template column, so rows are stored without their
    // fields in file order (bf_domain::compact) and the report rebuilds them.
    let stack = Stack::start().await?;
    let api = stack.billing_lead(TENANT);
    api.load_patients(&directory()).await?;
    let csv = "Acct,Last,First,DOB,Balance\n000123,Peña,Zoë,1984-03-07,5\n 999 ,Nobody, Ann ,1970-01-01,abc\n";
    let id = api.upload("all-read.csv", csv).await?;
    api.wait_for(&id, &["ready_for_review"], Duration::from_secs(30))
        .await?;
    let report = api.get(&format!("/v1/imports/{id}/errors.csv")).await?;
    assert_eq!(report.status, StatusCode::OK);
    let mut reader = csv::Reader::from_reader(report.text.as_bytes());
    let rows: Vec<Vec<String>> = reader
        .records()
        .map(|r| r.map(|r| r.iter().map(str::to_string).collect()))
        .collect::<Result<_, _>>()?;
    assert!(!rows.is_empty());
    for row in &rows {
        assert_eq!(row[0], "3");
        assert_eq!(row[5..], [" 999 ", "Nobody", " Ann ", "1970-01-01", "abc"]);
    }
    Ok(())
}
