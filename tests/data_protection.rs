//! Patient data stays inside its practice even when a query forgets to
//! say which one (row-level security), every access that matters is on an
//! append-only audit trail, and staged patient rows and files do not
//! outlive the retention period.

use anyhow::Result;
use bf_e2e::api::{Api, ALL_ROLES};
use bf_e2e::files::generate;
use bf_e2e::Stack;
use reqwest::StatusCode;
use serde_json::json;
use sqlx::{Connection, PgConnection, PgPool, Row};
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(90);

/// Every role, and the practice admin's.
fn admin(stack: &Stack, tenant: &str) -> Api {
    let mut roles = ALL_ROLES.to_vec();
    roles.push(bf_auth::ROLE_TENANT_ADMIN);
    stack.client(tenant, "admin@example.test", &roles)
}

/// One import of `rows` rows for `tenant`, saved and completed.
async fn completed_import(api: &Api, rows: usize) -> Result<String> {
    let file = generate(rows);
    api.load_patients(&file.patients).await?;
    let id = api.upload("balances.csv", &file.csv).await?;
    api.wait_for(&id, &["ready_for_review"], WAIT).await?;
    let saved = api.post(&format!("/v1/imports/{id}/approve")).await?;
    assert_eq!(saved.status, StatusCode::ACCEPTED, "{}", saved.text);
    api.wait_for(&id, &["completed"], WAIT).await?;
    Ok(id)
}

/// The ordinary tables of a service's database (not the migrations').
async fn tables(db: &PgPool) -> Result<Vec<(String, bool, bool)>> {
    Ok(sqlx::query_as(
        "SELECT c.relname::text, c.relrowsecurity, c.relforcerowsecurity
           FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
          WHERE n.nspname = 'public' AND c.relkind = 'r' AND c.relname <> '_sqlx_migrations'
          ORDER BY 1",
    )
    .fetch_all(db)
    .await?)
}

/// A connection that acts as the services' role, as the services do.
async fn as_app(db: &PgPool) -> Result<PgConnection> {
    let options = db.connect_options();
    let mut conn = PgConnection::connect_with(&options).await?;
    sqlx::query("SET ROLE bf_app").execute(&mut conn).await?;
    Ok(conn)
}

async fn count(conn: &mut PgConnection, sql: &str) -> Result<i64> {
    Ok(sqlx::query(sql).fetch_one(conn).await?.try_get(0)?)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_query_that_names_no_tenant_sees_no_rows_in_any_tenant_table() -> Result<()> {
    let stack = Stack::start().await?;
    completed_import(&admin(&stack, "practice-a"), 30).await?;
    completed_import(&admin(&stack, "practice-b"), 30).await?;

    for (db, name) in [(&stack.gateway_db, "gateway"), (&stack.claims_db, "claims")] {
        let all = tables(db).await?;
        assert!(all.len() >= 3, "{name} has tables");
        for (table, enabled, forced) in &all {
            assert!(
                *enabled && *forced,
                "{name}.{table} must have row-level security enabled and forced"
            );
        }
        let mut app = as_app(db).await?;
        for (table, _, _) in &all {
            let everything = count(
                &mut *db.acquire().await?,
                &format!("SELECT count(*) FROM {table}"),
            )
            .await?;
            let unscoped = count(&mut app, &format!("SELECT count(*) FROM {table}")).await?;
            assert_eq!(
                unscoped, 0,
                "{name}.{table}: without a tenant the app role sees nothing (the owner sees {everything})"
            );
            let mut tx = app.begin().await?;
            sqlx::query("SELECT set_config('bf.tenant_id', 'practice-a', true)")
                .execute(&mut *tx)
                .await?;
            let mine = count(&mut tx, &format!("SELECT count(*) FROM {table}")).await?;
            let theirs = count(
                &mut tx,
                &format!("SELECT count(*) FROM {table} WHERE tenant_id <> 'practice-a'"),
            )
            .await?;
            assert_eq!(
                theirs, 0,
                "{name}.{table}: practice A sees only its own rows"
            );
            if everything > 0 && !["audit_events"].contains(&table.as_str()) {
                assert!(
                    mine > 0 && mine < everything,
                    "{name}.{table}: A sees its rows ({mine} of {everything})"
                );
            }
            tx.rollback().await?;
        }
    }

    let mut app = as_app(&stack.gateway_db).await?;
    let mut tx = app.begin().await?;
    sqlx::query("SELECT set_config('bf.tenant_id', 'practice-a', true)")
        .execute(&mut *tx)
        .await?;
    let smuggled = sqlx::query("UPDATE imports SET tenant_id = 'practice-b'")
        .execute(&mut *tx)
        .await;
    assert!(
        smuggled.is_err(),
        "moving a row into another tenant breaks the policy"
    );
    tx.rollback().await?;

    // After a tenant's transaction the setting is left empty, not unset:
    // the connection, reused, still names no tenant.
    let mut tx = app.begin().await?;
    sqlx::query("SELECT set_config('bf.tenant_id', 'practice-a', true)")
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    let after = count(&mut app, "SELECT count(*) FROM imports").await?;
    assert_eq!(after, 0, "a reused connection sees no tenant's rows");
    let orphan = sqlx::query(
        "INSERT INTO outbox (queue, kind, message_id, payload) VALUES ('q', 'k', 'm', '\\x00')",
    )
    .execute(&mut app)
    .await;
    assert!(
        orphan.is_err(),
        "a write that names no tenant is refused on a reused connection"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn the_audit_trail_says_who_did_what_from_where_and_the_app_cannot_rewrite_it() -> Result<()>
{
    let stack = Stack::start().await?;
    let a = admin(&stack, "practice-a");
    let file = generate(60);
    a.load_patients(&file.patients).await?;
    let id = a.upload("balances.csv", &file.csv).await?;
    a.wait_for(&id, &["ready_for_review"], WAIT).await?;
    let report = a.get(&format!("/v1/imports/{id}/errors.csv")).await?;
    assert_eq!(report.status, StatusCode::OK);
    let saved = a
        .post_json(
            &format!("/v1/imports/{id}/approve"),
            &json!({ "accept_flagged": "all", "existing_balance_forward": "skip" }),
        )
        .await?;
    assert_eq!(saved.status, StatusCode::ACCEPTED, "{}", saved.text);
    a.wait_for(&id, &["completed"], WAIT).await?;
    let voided = a.post(&format!("/v1/imports/{id}/void")).await?;
    assert_eq!(voided.status, StatusCode::OK, "{}", voided.text);

    let trail = a.get("/v1/audit").await?;
    assert_eq!(trail.status, StatusCode::OK, "{}", trail.text);
    let entries = trail.body["entries"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let actions: Vec<&str> = entries
        .iter()
        .map(|e| e["action"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(
        actions,
        [
            "import.void",
            "import.approve",
            "import.error_report",
            "import.upload",
            "patients.write"
        ],
        "newest first"
    );
    for entry in &entries {
        assert_eq!(entry["actor"], "admin@example.test");
        let from = entry["remote_addr"].as_str().unwrap_or("");
        assert!(from.starts_with("127.0.0.1"), "from where: {from}");
        if entry["action"] != "patients.write" {
            assert_eq!(entry["import_id"], id.as_str());
        }
    }
    assert_eq!(entries[1]["details"]["decisions"]["accept_flagged"], "all");
    assert_eq!(
        entries[4]["details"]["patients"],
        file.patients.as_array().map(Vec::len).unwrap_or(0)
    );
    let text = trail.text.clone();
    for patient in file.patients.as_array().into_iter().flatten() {
        let last = patient["last_name"].as_str().unwrap_or("");
        assert!(
            last.is_empty() || !text.contains(last),
            "no patient data in the trail"
        );
    }

    let lead = stack.billing_lead("practice-a");
    assert_eq!(lead.get("/v1/audit").await?.status, StatusCode::FORBIDDEN);
    let other = admin(&stack, "practice-b").get("/v1/audit").await?;
    assert_eq!(other.status, StatusCode::OK);
    assert_eq!(other.body["entries"], json!([]), "B sees none of A's trail");

    let mut app = as_app(&stack.gateway_db).await?;
    for change in [
        "UPDATE audit_events SET actor = 'someone-else'",
        "DELETE FROM audit_events",
        "UPDATE import_transitions SET actor = 'someone-else'",
        "DELETE FROM import_transitions",
    ] {
        let mut tx = app.begin().await?;
        sqlx::query("SELECT set_config('bf.tenant_id', 'practice-a', true)")
            .execute(&mut *tx)
            .await?;
        let refused = sqlx::query(change).execute(&mut *tx).await;
        let message = refused.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(
            message.contains("permission denied"),
            "`{change}` must be refused to the app role, got: {message:?}"
        );
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn finished_imports_lose_their_rows_and_file_after_the_retention_period_and_keep_the_rest(
) -> Result<()> {
    let stack = Stack::start_with(bf_e2e::Options {
        env: vec![
            ("BF_RETENTION_SECS".into(), "2".into()),
            ("BF_RETENTION_SWEEP_SECS".into(), "1".into()),
        ],
    })
    .await?;
    let a = admin(&stack, "practice-a");
    let done = completed_import(&a, 40).await?;
    let claims_before = stack.claim_count(&done).await?;
    let file = generate(20);
    let waiting = a.upload("later.csv", &file.csv).await?;
    a.wait_for(&waiting, &["ready_for_review"], WAIT).await?;

    let mut purged = None;
    for _ in 0..300 {
        purged = a.import(&done).await?["purged_at"]
            .as_str()
            .map(str::to_string);
        if purged.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(purged.is_some(), "the completed import was purged");

    let key_of = |id: &str| {
        let id = id.to_string();
        let db = stack.gateway_db.clone();
        async move {
            let key: String =
                sqlx::query_scalar("SELECT object_key FROM imports WHERE import_id = $1::uuid")
                    .bind(id)
                    .fetch_one(&db)
                    .await?;
            anyhow::Ok(key)
        }
    };
    let rows_of = |id: &str| {
        let id = id.to_string();
        let db = stack.gateway_db.clone();
        async move {
            let n: i64 = sqlx::query_scalar(
                "SELECT (SELECT count(*) FROM import_lines WHERE import_id = $1::uuid)
                      + (SELECT count(*) FROM import_row_marks WHERE import_id = $1::uuid)
                      + (SELECT count(*) FROM import_batches WHERE import_id = $1::uuid)",
            )
            .bind(id)
            .fetch_one(&db)
            .await?;
            anyhow::Ok(n)
        }
    };
    assert_eq!(rows_of(&done).await?, 0, "staged rows deleted");
    assert!(
        !stack.objects_dir().join(key_of(&done).await?).exists(),
        "uploaded file deleted"
    );
    assert!(
        rows_of(&waiting).await? > 0,
        "an import under review keeps its rows"
    );
    assert!(
        stack.objects_dir().join(key_of(&waiting).await?).exists(),
        "and its file"
    );

    let kept = a.import(&done).await?;
    assert_eq!(kept["status"], "completed");
    assert_eq!(kept["counts"]["total"], 40, "counts stay");
    assert_eq!(
        stack.claim_count(&done).await?,
        claims_before,
        "the ledger is untouched"
    );
    let again = a.post(&format!("/v1/imports/{done}/approve")).await?;
    assert_eq!(
        again.status,
        StatusCode::ACCEPTED,
        "saving again changes nothing"
    );
    assert_eq!(stack.claim_count(&done).await?, claims_before);
    let trail = a.get("/v1/audit").await?;
    assert_eq!(trail.body["entries"][0]["action"], "import.purged");
    assert_eq!(trail.body["entries"][0]["actor"], "retention");
    Ok(())
}
