#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;

use super::*;
use crate::conn::tests::read_request;
use crate::http::Endpoint;

/// Writes `bytes` in pieces of `step` bytes, flushing each, so the client reads it in parts.
async fn write_in_pieces(s: &mut TcpStream, bytes: &[u8], step: usize) {
    for piece in bytes.chunks(step) {
        s.write_all(piece).await.unwrap();
        s.flush().await.unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
    }
}

#[tokio::test]
async fn requests_on_the_wire_and_answers_by_every_framing() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move {
        let mut seen = Vec::new();
        let (mut s, _) = listener.accept().await.unwrap();
        // Content-Length, written in small pieces.
        seen.push(read_request(&mut s).await);
        write_in_pieces(
            &mut s,
            b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 11\r\n\r\n{\"a\":\"bcd\"}",
            7,
        )
        .await;
        // Chunked, with an extension and a trailer.
        seen.push(read_request(&mut s).await);
        write_in_pieces(
            &mut s,
            b"HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\nset-cookie: a=1\r\nset-cookie: b=2\r\n\r\n3;x=y\r\nabc\r\n4\r\ndefg\r\n0\r\nt: 1\r\n\r\n",
            5,
        )
        .await;
        // No body.
        seen.push(read_request(&mut s).await);
        s.write_all(b"HTTP/1.1 204 No Content\r\n\r\n")
            .await
            .unwrap();
        // To the end of the connection.
        seen.push(read_request(&mut s).await);
        s.write_all(b"HTTP/1.1 302 Found\r\nlocation: /x\r\n\r\nbye")
            .await
            .unwrap();
        drop(s);
        seen
    });
    let get = Endpoint::parse(&format!("http://{addr}/a/b?c=1")).unwrap();
    let post = Endpoint::parse(&format!("http://{addr}/t")).unwrap();
    let auth = HeaderValue::from_static("Basic eDp5");
    let cookie = HeaderValue::from_static("RG_CSRF=z");
    let mut raw = Raw::default();

    let r = raw.send(Req::get(&get).auth(Some(&auth))).await.unwrap();
    assert_eq!((r.status, &r.body[..]), (200, &b"{\"a\":\"bcd\"}"[..]));
    assert_eq!(r.headers["content-type"], "application/json");

    let form = Req::post_form(&post, Bytes::from_static(b"x=1&y=2")).cookie(Some(&cookie));
    let r = raw.send(form).await.unwrap();
    assert_eq!((r.status, &r.body[..]), (201, &b"abcdefg"[..]));
    let cookies: Vec<_> = r.headers.get_all("set-cookie").iter().collect();
    assert_eq!(cookies, ["a=1", "b=2"]);

    let r = raw.send(Req::get(&get)).await.unwrap();
    assert_eq!((r.status, r.body.len()), (204, 0));

    let r = raw.send(Req::get(&post)).await.unwrap();
    assert_eq!((r.status, &r.body[..]), (302, &b"bye"[..]));
    assert_eq!(r.headers["location"], "/x");
    assert!(
        raw.open.is_none(),
        "a read-to-close answer ends the connection"
    );

    let seen = server.await.unwrap();
    let host = format!("host: {addr}\r\n");
    assert!(
        seen[0].starts_with("GET /a/b?c=1 HTTP/1.1\r\n"),
        "{}",
        seen[0]
    );
    assert!(seen[0].contains(&host), "{}", seen[0]);
    assert!(
        seen[0].contains("authorization: Basic eDp5\r\n"),
        "{}",
        seen[0]
    );
    assert!(seen[1].starts_with("POST /t HTTP/1.1\r\n"), "{}", seen[1]);
    assert!(seen[1].contains(&host), "{}", seen[1]);
    assert!(seen[1].contains("cookie: RG_CSRF=z\r\n"), "{}", seen[1]);
    assert!(
        seen[1].contains("content-type: application/x-www-form-urlencoded\r\n"),
        "{}",
        seen[1]
    );
    assert!(
        seen[1].ends_with("content-length: 7\r\n\r\nx=1&y=2"),
        "{}",
        seen[1]
    );
    assert!(!seen[2].contains("authorization"), "{}", seen[2]);
    assert!(seen[3].starts_with("GET /t HTTP/1.1\r\n"), "{}", seen[3]);
}

#[tokio::test]
async fn a_connection_the_server_dropped_is_replaced_and_close_is_honoured() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move {
        // First connection: one answer, then the server drops it while idle.
        let (mut s, _) = listener.accept().await.unwrap();
        read_request(&mut s).await;
        s.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 1\r\n\r\na")
            .await
            .unwrap();
        drop(s);
        // Second: the same request arrives again, answered with `Connection: close`.
        let (mut s, _) = listener.accept().await.unwrap();
        let again = read_request(&mut s).await;
        s.write_all(b"HTTP/1.1 200 OK\r\nconnection: close\r\ncontent-length: 1\r\n\r\nb")
            .await
            .unwrap();
        // Third: the client opened a new one after the close.
        let (mut s, _) = listener.accept().await.unwrap();
        read_request(&mut s).await;
        s.write_all(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 1\r\n\r\nc")
            .await
            .unwrap();
        // On it, an answer cut short is an error, not retried.
        read_request(&mut s).await;
        s.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nabc")
            .await
            .unwrap();
        drop(s);
        again
    });
    let ep = Endpoint::parse(&format!("http://{addr}/p")).unwrap();
    let mut raw = Raw::default();
    assert_eq!(&raw.send(Req::get(&ep)).await.unwrap().body[..], b"a");
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    let form = Req::post_form(&ep, Bytes::from_static(b"grant_type=x"));
    assert_eq!(&raw.send(form).await.unwrap().body[..], b"b");
    assert!(
        raw.open.is_none(),
        "`Connection: close` ends the connection"
    );
    let r = raw.send(Req::get(&ep)).await.unwrap();
    assert_eq!((r.status, &r.body[..]), (400, &b"c"[..]));
    let cut = raw.send(Req::get(&ep)).await;
    assert!(
        matches!(&cut, Err(SendError::Transport(e)) if e.contains("cut short")),
        "{:?}",
        cut.err()
    );
    let again = server.await.unwrap();
    assert!(again.starts_with("POST /p HTTP/1.1\r\n"), "{again}");
    assert!(again.ends_with("\r\n\r\ngrant_type=x"), "{again}");
}

#[tokio::test]
async fn malformed_answers_are_transport_errors() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        for answer in [
            &b"HTTP/1.1 200 OK\r\ncontent-length: x\r\n\r\n"[..],
            b"garbage\r\n\r\n",
            b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n",
        ] {
            let (mut s, _) = listener.accept().await.unwrap();
            read_request(&mut s).await;
            s.write_all(answer).await.unwrap();
            drop(s);
        }
    });
    let ep = Endpoint::parse(&format!("http://{addr}/")).unwrap();
    let mut raw = Raw::default();
    for want in ["content-length", "answer head", "chunk size"] {
        match raw.send(Req::get(&ep)).await {
            Err(SendError::Transport(e)) => assert!(e.contains(want), "{e} lacks {want}"),
            other => panic!(
                "expected a transport error with {want}, got {:?}",
                other.is_ok()
            ),
        }
        assert!(raw.open.is_none());
    }
}
