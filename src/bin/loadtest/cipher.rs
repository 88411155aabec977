//! `cipher`: no server; the cost of sealing and opening one message body.

use std::time::Instant;

/// The cost of encryption at rest per message, in this process (no
/// server): seal then open one body, as the writer and a reader do.
pub fn cipher_cost() -> Result<(), String> {
    use glasschat::server::crypto::{new_data_key, Keyring, MasterKey, WrappedKey};
    let master = MasterKey::generate();
    let (sealed, nonce) = master.wrap(1, &new_data_key()).map_err(|e| e.to_string())?;
    let keys = Keyring::default();
    keys.load(
        &master,
        &[WrappedKey {
            id: 1,
            sealed,
            nonce,
        }],
    )
    .map_err(|e| e.to_string())?;
    println!("cipher: XChaCha20-Poly1305 seal + open per message body");
    for size in [100usize, 1_000, 10_000] {
        let body = vec![b'x'; size];
        let mut times = Vec::with_capacity(50_000);
        for seq in 0..50_000i64 {
            let started = Instant::now();
            let sealed = keys.seal(7, seq, &body).map_err(|e| e.to_string())?;
            let plain = keys
                .open(
                    7,
                    seq,
                    Some(sealed.key_id),
                    Some(&sealed.nonce),
                    &sealed.body,
                )
                .map_err(|e| e.to_string())?;
            times.push(started.elapsed());
            if plain.len() != size {
                return Err("round trip changed the body".into());
            }
        }
        times.sort_unstable();
        let median = times[times.len() / 2];
        let p99 = times[times.len() * 99 / 100];
        println!(
            "  {size:>6} bytes: median {:.2} µs, p99 {:.2} µs (50,000 runs)",
            median.as_secs_f64() * 1e6,
            p99.as_secs_f64() * 1e6
        );
    }
    Ok(())
}
