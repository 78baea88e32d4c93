//! The lock an instance holds while it writes an answer's end that it has already announced
//! (`cluster::endings`): while held, a read elsewhere waits; let go, or lost with a task that
//! did not finish, it is free again. Runs when `ENERGYAPP_TEST_POSTGRES_URL` names a server.

use std::time::Duration;

use energyapp_llm::server::cluster::endings;

use crate::common::{Backend, TestApp, within_time_limit};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_waits_while_an_end_is_written_and_goes_on_once_it_is_let_go() {
    let Some(app) = TestApp::start(Backend::Postgres).await else {
        return;
    };
    let db = &app.state.db;
    within_time_limit(async {
        // Nothing being written: at once.
        endings::written(db, "c1").await.unwrap();

        let ending = endings::begin(db, "c1").await.unwrap();
        // Another conversation's reads do not wait for it.
        endings::written(db, "c2").await.unwrap();
        let read = endings::written(db, "c1");
        tokio::pin!(read);
        assert!(
            tokio::time::timeout(Duration::from_millis(300), &mut read)
                .await
                .is_err(),
            "a read waits while the end is written"
        );
        ending.release().await;
        read.await.unwrap();

        // An ending dropped without being let go (its task cancelled) closes its connection,
        // and its lock goes with it.
        let ending = endings::begin(db, "c1").await.unwrap();
        drop(ending);
        tokio::time::timeout(Duration::from_secs(4), endings::written(db, "c1"))
            .await
            .expect("the lock of a dropped ending is freed")
            .unwrap();
        let again = endings::begin(db, "c1").await.unwrap();
        again.release().await;
    })
    .await;
    app.stop().await;
}
