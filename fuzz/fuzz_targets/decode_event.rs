//! Any bytes as an event document, a ReceiveMessage answer or a Lambda
//! invocation: objects, messages, notices or an error, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(decoded) = summary_aws::event::decode_event(data) {
        for object in decoded.objects {
            let _ = (object.bucket.len(), object.key.len());
        }
    }
    if let Ok(messages) = summary_aws::sqs::parse_received(data) {
        let _ = messages.iter().map(|m| m.body.len()).sum::<usize>();
    }
    if let Ok(value) = serde_json::from_slice::<serde_json::Value>(data) {
        if let Some(batch) = summary_aws::sqs::lambda_batch(&value) {
            let ids = batch.iter().map(|m| m.id.as_str());
            let _ = summary_aws::sqs::batch_item_failures(ids);
        }
    }
});
