//! Generated import files whose every outcome is known in advance.

use rust_decimal::Decimal;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::str::FromStr;

/// The whole template header, in contract order.
pub const TEMPLATE_HEADER: &str = "patient_account_number,patient_id,last_name,first_name,date_of_birth,patient_balance,insurance_balance,balance_as_of,reference,provider_npi,location,oldest_service_date,aged_0_30,aged_31_60,aged_61_90,aged_91_120,aged_over_120";

/// The header of generated files: the template's first nine columns.
pub const HEADER: &str = "patient_account_number,patient_id,last_name,first_name,date_of_birth,patient_balance,insurance_balance,balance_as_of,reference";

/// What a file should turn into.
#[derive(Debug, Default)]
pub struct Expected {
    pub total: i64,
    pub valid: i64,
    pub flagged: i64,
    pub invalid: i64,
    pub skipped: i64,
    pub patient_balance: Decimal,
    pub insurance_balance: Decimal,
    /// The BF claim each valid line must get, by line.
    pub claims: BTreeMap<i32, ExpectedClaim>,
    /// Lines by the status they must have.
    pub statuses: BTreeMap<i32, &'static str>,
}

/// One expected BF claim.
#[derive(Debug, Clone)]
pub struct ExpectedClaim {
    pub patient_id: String,
    pub patient: Decimal,
    pub insurance: Decimal,
}

/// A file, the patient directory it is matched against, and what to expect.
pub struct Generated {
    pub csv: String,
    pub patients: Value,
    pub expected: Expected,
}

fn money(s: &str) -> Decimal {
    // Cannot fail: the generator writes plain decimals.
    Decimal::from_str(s).expect("generated amount")
}

/// A file of `rows` rows cycling through every kind of row: valid (patient
/// only, both balances, insurance only, credit, by patient_id), zero,
/// unmatched, name mismatch, duplicate patient, bad amounts, bad date and
/// birth-date mismatch.
pub fn generate(rows: usize) -> Generated {
    let mut csv = String::from(HEADER);
    csv.push('\n');
    let mut patients = Vec::new();
    let mut e = Expected::default();
    for i in 0..rows {
        let line = i as i32 + 2;
        let kind = i % 20;
        // Row 15 of each cycle repeats row 14's patient.
        let who = if kind == 15 { i - 1 } else { i };
        let pid = format!("P-{who:05}");
        let account = format!("0{who:05}");
        let last = if who % 3 == 0 {
            format!("Peña{who}")
        } else {
            format!("Nguyễn{who}")
        };
        let first = format!("Zoë{who}");
        let dob = format!(
            "19{:02}-{:02}-{:02}",
            30 + who % 60,
            1 + who % 12,
            1 + who % 28
        );
        if kind != 12 && kind != 15 {
            patients.push(json!({
                "patient_id": pid, "patient_account_number": account,
                "last_name": last, "first_name": first, "date_of_birth": dob
            }));
        }
        let pb = format!("{}.{:02}", 1 + i % 900, i % 100);
        let ib = format!("{}.{:02}", 10 + i % 300, (i * 3) % 100);
        let (acct, pid_cell, first_cell, dob_cell, pbal, ibal, status) = match kind {
            0..=4 => (
                account.clone(),
                String::new(),
                first.clone(),
                dob.clone(),
                pb.clone(),
                String::new(),
                "valid",
            ),
            5 | 6 => (
                account.clone(),
                String::new(),
                first.clone(),
                dob.clone(),
                pb.clone(),
                ib.clone(),
                "valid",
            ),
            7 => (
                account.clone(),
                String::new(),
                first.clone(),
                dob.clone(),
                "0.00".into(),
                ib.clone(),
                "valid",
            ),
            8 => (
                account.clone(),
                String::new(),
                first.clone(),
                dob.clone(),
                format!("-{pb}"),
                String::new(),
                "valid",
            ),
            9 => (
                String::new(),
                pid.clone(),
                first.clone(),
                dob.clone(),
                pb.clone(),
                "0".into(),
                "valid",
            ),
            10 | 11 => (
                account.clone(),
                String::new(),
                first.clone(),
                dob.clone(),
                "0".into(),
                "0.00".into(),
                "skipped",
            ),
            12 => (
                account.clone(),
                String::new(),
                first.clone(),
                dob.clone(),
                pb.clone(),
                String::new(),
                "invalid",
            ),
            13 => (
                account.clone(),
                String::new(),
                format!("Wrong{who}"),
                dob.clone(),
                pb.clone(),
                String::new(),
                "flagged",
            ),
            14 | 15 => (
                account.clone(),
                String::new(),
                first.clone(),
                dob.clone(),
                pb.clone(),
                String::new(),
                // The last row of a file can be a 14 with no 15 to repeat
                // its patient: then nothing makes it a duplicate.
                if kind == 14 && i + 1 == rows {
                    "valid"
                } else {
                    "flagged"
                },
            ),
            16 => (
                account.clone(),
                String::new(),
                first.clone(),
                dob.clone(),
                format!("{pb}5"),
                String::new(),
                "invalid",
            ),
            17 => (
                account.clone(),
                String::new(),
                first.clone(),
                dob.clone(),
                format!("{pb}.7"),
                String::new(),
                "invalid",
            ),
            18 => (
                account.clone(),
                String::new(),
                first.clone(),
                "25/03/1984".into(),
                pb.clone(),
                String::new(),
                "invalid",
            ),
            _ => (
                account.clone(),
                String::new(),
                first.clone(),
                "1901-01-01".into(),
                pb.clone(),
                String::new(),
                "flagged",
            ),
        };
        csv.push_str(&format!(
            "{acct},{pid_cell},{last},{first_cell},{dob_cell},{pbal},{ibal},2026-11-20,ref-{line}\n"
        ));
        e.total += 1;
        e.statuses.insert(line, status);
        match status {
            "valid" => {
                e.valid += 1;
                let p = money(&pbal);
                let ins = if ibal.is_empty() {
                    Decimal::ZERO
                } else {
                    money(&ibal)
                };
                e.patient_balance += p;
                e.insurance_balance += ins;
                e.claims.insert(
                    line,
                    ExpectedClaim {
                        patient_id: pid.clone(),
                        patient: p,
                        insurance: ins,
                    },
                );
            }
            "flagged" => e.flagged += 1,
            "invalid" => e.invalid += 1,
            _ => e.skipped += 1,
        }
    }
    e.patient_balance.rescale(2);
    e.insurance_balance.rescale(2);
    Generated {
        csv,
        patients: Value::Array(patients),
        expected: e,
    }
}
