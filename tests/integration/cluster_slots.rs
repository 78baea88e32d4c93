//! A backend's slots shared by the instances (PostgreSQL advisory locks): each instance takes
//! free slots, never one it or another instance holds, and gives them back; a slot is not
//! taken while a request let through by its instance's line waits for one. A slot given back
//! is kept a moment by its instance, unless another one wants it. Two handles on one database
//! stand for two instances. Runs when `ENERGYAPP_TEST_POSTGRES_URL` names a server.

use std::time::Duration;

use energyapp_llm::server::cluster::{ClusterSlot, ClusterSlots};

use crate::common::{Backend, TestApp, within_time_limit};

const BACKEND: &str = "http://ollama-a:11434";
const SLOTS: usize = 3;

/// A migrated database (the line's table is needed) and two instances' handles on it, each
/// keeping a slot it gives back for `keep` (or until the other one wants one: the tests pass on
/// what each instance's listener would hear).
async fn two_handles(keep: Duration) -> Option<(TestApp, ClusterSlots, ClusterSlots)> {
    let app = TestApp::start(Backend::Postgres).await?;
    let url = app.state.settings.database.url.clone();
    let first = ClusterSlots::start_keeping(&url, 9_000_001, keep)
        .await
        .unwrap();
    let second = ClusterSlots::start_keeping(&url, 9_000_002, keep)
        .await
        .unwrap();
    Some((app, first, second))
}

/// How long the handles of most tests keep a slot given back.
const BRIEFLY: Duration = Duration::from_millis(200);

async fn take_all(slots: &ClusterSlots) -> Vec<ClusterSlot> {
    let mut taken = Vec::new();
    while let Some(slot) = slots.try_acquire(BACKEND, SLOTS).await {
        taken.push(slot);
        assert!(taken.len() <= SLOTS, "more slots than the backend has");
    }
    taken
}

/// Waits until `slots` can take `n` slots (given back ones are unlocked by a task).
async fn until_taken(slots: &ClusterSlots, n: usize) -> Vec<ClusterSlot> {
    let mut taken = Vec::new();
    while taken.len() < n {
        match slots.try_acquire(BACKEND, SLOTS).await {
            Some(slot) => taken.push(slot),
            None => tokio::time::sleep(Duration::from_millis(20)).await,
        }
    }
    taken
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slots_held_by_either_instance_are_not_taken_twice() {
    let Some((app, first, second)) = two_handles(BRIEFLY).await else {
        return;
    };
    within_time_limit(async {
        // The first takes two; the second, skipping them, the last one; then none is left.
        let mut held = vec![
            first
                .try_acquire(BACKEND, SLOTS)
                .await
                .expect("a free slot"),
            first
                .try_acquire(BACKEND, SLOTS)
                .await
                .expect("a free slot"),
        ];
        let other = second.try_acquire(BACKEND, SLOTS).await;
        assert!(other.is_some(), "the third slot is free");
        assert!(first.try_acquire(BACKEND, SLOTS).await.is_none());
        assert!(second.try_acquire(BACKEND, SLOTS).await.is_none());

        // Another backend's slots are its own.
        assert!(
            first
                .try_acquire("http://ollama-b:11434", 1)
                .await
                .is_some()
        );

        // Given back, a slot is the other instance's to take; a slot held twice would stay
        // locked after one unlock, and the second instance could not take all three.
        held.pop();
        let again = until_taken(&second, 1).await;
        drop((held, again, other));
        let all = until_taken(&second, SLOTS).await;
        assert!(second.try_acquire(BACKEND, SLOTS).await.is_none());
        assert!(first.try_acquire(BACKEND, SLOTS).await.is_none());
        drop(all);
        assert_eq!(until_taken(&first, SLOTS).await.len(), SLOTS);
    })
    .await;
    drop((first, second));
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_free_slot_is_left_to_a_request_let_through_that_waits_for_one() {
    let Some((app, first, second)) = two_handles(BRIEFLY).await else {
        return;
    };
    within_time_limit(async {
        let taken = take_all(&first).await;
        assert_eq!(taken.len(), SLOTS);
        drop(taken);
        let url = app.state.settings.database.url.clone();
        let pool = sqlx::PgPool::connect(&url).await.unwrap();
        // A request of another instance, let through by its line, waits for a slot.
        sqlx::query(
            "insert into waiting_requests (id, instance_id, backend, created_at, ready) \
             values ('w1', 'elsewhere', $1, '2026-11-27T00:00:00Z', 1)",
        )
        .bind(BACKEND)
        .execute(&pool)
        .await
        .unwrap();
        // Once the given-back slots are free, a plain try takes one; one that yields to the
        // ready request takes none.
        let freed = until_taken(&second, 1).await;
        // That request's instance says it wants a slot; the instances hear it.
        first.wanted(BACKEND);
        second.wanted(BACKEND);
        drop(freed);
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(
            second
                .try_acquire_unless_ready(BACKEND, SLOTS)
                .await
                .is_none(),
            "a ready request waits for this backend"
        );
        // And it took no lock on the side: the other instance can take every slot (waiting,
        // if need be, for the one given back just now to be unlocked).
        let all = until_taken(&first, SLOTS).await;
        assert!(first.try_acquire(BACKEND, SLOTS).await.is_none());
        drop(all);
        sqlx::query("delete from waiting_requests where id = 'w1'")
            .execute(&pool)
            .await
            .unwrap();
        // No one waits any more: a slot is taken once one is unlocked.
        while second
            .try_acquire_unless_ready(BACKEND, SLOTS)
            .await
            .is_none()
        {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        pool.close().await;
    })
    .await;
    drop((first, second));
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slot_given_back_is_kept_by_its_instance_until_another_one_wants_it() {
    let Some((app, first, second)) = two_handles(Duration::from_secs(3600)).await else {
        return;
    };
    within_time_limit(async {
        // Given back, the slots stay the first instance's: it takes them again, the other
        // one cannot.
        let taken = take_all(&first).await;
        assert_eq!(taken.len(), SLOTS);
        drop(taken);
        let url = app.state.settings.database.url.clone();
        let mut words = sqlx::postgres::PgListener::connect(&url).await.unwrap();
        words.listen("ea_slot_wanted").await.unwrap();
        assert!(second.try_acquire(BACKEND, SLOTS).await.is_none());
        // The other instance said so: it wants one of this backend's slots.
        let word = words.recv().await.unwrap();
        assert_eq!(word.payload(), BACKEND);
        let again = take_all(&first).await;
        assert_eq!(again.len(), SLOTS, "the kept slots are taken again");
        drop(again);

        // The first instance hears it (its listener passes it on): it unlocks the slots it
        // keeps, and no longer keeps those given back.
        first.wanted(BACKEND);
        let two = until_taken(&second, 2).await;
        let one = until_taken(&first, 1).await;
        drop(one);
        let last = until_taken(&second, 1).await;
        assert!(first.try_acquire(BACKEND, SLOTS).await.is_none());
        // Word about another backend changes nothing for this one: the second keeps its slots.
        second.wanted("http://ollama-b:11434");
        drop((two, last));
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(first.try_acquire(BACKEND, SLOTS).await.is_none());
        assert_eq!(take_all(&second).await.len(), SLOTS);
        words.unlisten_all().await.unwrap();
    })
    .await;
    drop((first, second));
    app.stop().await;
}
