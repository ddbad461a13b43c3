//! A fresh PostgreSQL database for one test, on the server `CAMP_TEST_POSTGRES` names
//! (`scripts/with-postgres` starts one). Shared by the store suite and the service tests.

/// The URL of a new, empty database named after the test; `None` (the test says it is
/// skipped) when there is no server, unless `CAMP_REQUIRE_POSTGRES` is set (as in CI), where
/// that is a failure instead.
pub fn database(test: &str) -> Option<String> {
    let Ok(url) = std::env::var("CAMP_TEST_POSTGRES") else {
        assert!(
            std::env::var_os("CAMP_REQUIRE_POSTGRES").is_none(),
            "CAMP_REQUIRE_POSTGRES is set but CAMP_TEST_POSTGRES is not: run under scripts/with-postgres"
        );
        eprintln!("skipped: no PostgreSQL server (set CAMP_TEST_POSTGRES, or run under scripts/with-postgres)");
        return None;
    };
    let database = format!("camp_{}_{test}", std::process::id());
    let mut admin = postgres::Client::connect(&url, postgres::NoTls)
        .unwrap_or_else(|e| panic!("cannot reach CAMP_TEST_POSTGRES: {e}"));
    // One statement at a time: CREATE DATABASE cannot run inside the transaction a batch is.
    for statement in [format!("DROP DATABASE IF EXISTS {database}"), format!("CREATE DATABASE {database}")] {
        admin.batch_execute(&statement).unwrap_or_else(|e| panic!("cannot create a test database: {e:?}"));
    }
    let base = url.rsplit_once('/').map_or(url.as_str(), |(base, _)| base);
    Some(format!("{base}/{database}"))
}
