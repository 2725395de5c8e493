//! Every decoder in the workspace through the decoder verifier: the
//! gallery's eight, stage 4's `read_frame` loop and stage 6's wire reader.

use std::io::Read;

use ack_handshake::FileInfo;
use framing_gallery::demo::awkward_messages;
use framing_gallery::verify::Verifier;
use framing_gallery::{Encoder, Limits, Strategy};
use proptest::prelude::*;

/// Encodes every message the strategy can carry; returns the wire bytes and those messages.
fn encode_all(
    strategy: Strategy,
    limits: &Limits,
    messages: &[Vec<u8>],
) -> (Vec<u8>, Vec<Vec<u8>>) {
    let mut encoder = strategy.encoder(limits);
    let mut wire = Vec::new();
    let mut carried = Vec::new();
    for message in messages {
        if encoder.encode(message, &mut wire).is_ok() {
            carried.push(message.clone());
        }
    }
    (wire, carried)
}

/// Every gallery decoder yields the awkward messages it can carry, however the stream is cut.
#[test]
fn gallery_decoders_pass_on_the_awkward_messages() {
    let limits = Limits::GALLERY;
    let verifier = Verifier::new().cases(24);
    for strategy in Strategy::ALL {
        let messages: Vec<Vec<u8>> = awkward_messages()
            .into_iter()
            .map(|(_, m)| m)
            // A line of 64 KiB is over the line maximum: that is a refusal,
            // checked in `over_long_line_is_refused_the_same_way`.
            .filter(|m| strategy != Strategy::Lines || m.len() <= limits.max_line)
            .collect();
        if strategy.one_message_per_connection() {
            for message in &messages {
                let (wire, carried) = encode_all(strategy, &limits, std::slice::from_ref(message));
                verifier
                    .check_decoder(|| strategy.decoder(&limits), &wire, &carried)
                    .unwrap_or_else(|f| panic!("{}: {f}", strategy.name()));
            }
            continue;
        }
        let (wire, carried) = encode_all(strategy, &limits, &messages);
        assert!(!carried.is_empty(), "{}", strategy.name());
        verifier
            .check_decoder(|| strategy.decoder(&limits), &wire, &carried)
            .unwrap_or_else(|f| panic!("{}: {f}", strategy.name()));
    }
}

/// The line decoder refuses an over-long line with the same numbers however it arrives, after the lines before it.
#[test]
fn over_long_line_is_refused_the_same_way() {
    let limits = Limits::GALLERY;
    let mut input = b"short\n".to_vec();
    input.extend(vec![b'x'; limits.max_line + 100]);
    let outcome = Verifier::new()
        .cases(16)
        .check_decoder_refuses(|| Strategy::Lines.decoder(&limits), &input)
        .unwrap();
    assert_eq!(outcome.frames, vec![b"short".to_vec()]);
    assert_eq!(
        outcome.end,
        Err(
            "line of at least 8193 bytes, the maximum is 8192; refused before buffering the rest"
                .into()
        )
    );
}

// ANCHOR: stage_4_read_frame_passes
/// Stage 4's frames, written by its own `write_frame`, read by its own `read_frame` loop under every split.
#[test]
fn stage_4_read_frame_passes() {
    let messages: Vec<Vec<u8>> = awkward_messages().into_iter().map(|(_, m)| m).collect();
    let mut wire = Vec::new();
    for m in &messages {
        length_header_fix::write_frame(&mut wire, m, length_header_fix::DEFAULT_MAX_FRAME).unwrap();
    }
    let read_all = |r: &mut dyn Read| {
        let mut frames = Vec::new();
        while let Some(frame) =
            length_header_fix::read_frame(r, length_header_fix::DEFAULT_MAX_FRAME)?
        {
            frames.push(frame);
        }
        Ok::<_, length_header_fix::FrameError>(frames)
    };
    Verifier::new()
        .cases(24)
        .check_reader(read_all, &wire, &messages)
        .unwrap_or_else(|f| panic!("{f}"));
}
// ANCHOR_END: stage_4_read_frame_passes

/// What stage 6's client sends for one file: the framed JSON, the bytes, the MD5 in hex.
fn stage_6_upload(name: &str, data: &[u8], wire: &mut Vec<u8>) -> Vec<Vec<u8>> {
    let json = FileInfo::put(name, data.len() as u64).to_json();
    let digest = md5_upload::hashing::md5_hex(data).into_bytes();
    length_header_fix::write_frame(wire, &json, length_header_fix::DEFAULT_MAX_FRAME).unwrap();
    wire.extend_from_slice(data);
    wire.extend_from_slice(&digest);
    vec![json, data.to_vec(), digest]
}

/// Stage 6's server-side reading (a stage-4 frame of JSON, exactly `filesize` bytes, 32 hex
/// characters, per file) gives the same tokens under every split, and reads no byte too many.
#[test]
fn stage_6_wire_reader_passes() {
    let mut wire = Vec::new();
    let mut expected = Vec::new();
    expected.extend(stage_6_upload("notes.txt", b"sticky packets\n", &mut wire));
    expected.extend(stage_6_upload("empty.bin", b"", &mut wire));
    let table: Vec<u8> = (0..=255u8).rev().collect();
    expected.extend(stage_6_upload("table.bin", &table, &mut wire));
    let read_all = |r: &mut dyn Read| -> Result<Vec<Vec<u8>>, String> {
        let mut tokens = Vec::new();
        while let Some(json) = length_header_fix::read_frame(r, md5_upload::DEFAULT_MAX_INFO_LEN)
            .map_err(|e| e.to_string())?
        {
            let info = FileInfo::from_json(&json).map_err(|e| e.to_string())?;
            let size = usize::try_from(info.filesize).map_err(|e| e.to_string())?;
            let mut data = vec![0u8; size];
            md5_upload::wire::read_token(r, &mut data).map_err(|e| e.to_string())?;
            let mut digest = [0u8; md5_upload::wire::DIGEST_HEX_LEN];
            md5_upload::wire::read_token(r, &mut digest).map_err(|e| e.to_string())?;
            tokens.extend([json, data, digest.to_vec()]);
        }
        Ok(tokens)
    };
    Verifier::new()
        .cases(24)
        .check_reader(read_all, &wire, &expected)
        .unwrap_or_else(|f| panic!("{f}"));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(12))]

    /// Any messages a strategy accepts come back out of its decoder, under every split the verifier tries.
    #[test]
    fn any_messages_round_trip(messages in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..300), 1..5)) {
        let limits = Limits::GALLERY;
        for strategy in Strategy::ALL {
            if strategy.one_message_per_connection() {
                continue;
            }
            let (wire, carried) = encode_all(strategy, &limits, &messages);
            let result = Verifier::new()
                .cases(8)
                .check_decoder(|| strategy.decoder(&limits), &wire, &carried);
            prop_assert!(result.is_ok(), "{}: {}", strategy.name(), result.unwrap_err());
        }
    }
}
