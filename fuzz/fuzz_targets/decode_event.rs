//! Any bytes as an event document: objects, notices or an error, never a
//! panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(decoded) = summary_edge::event::decode_event(data) {
        for object in decoded.objects {
            let _ = (object.bucket.len(), object.key.len());
        }
    }
});
