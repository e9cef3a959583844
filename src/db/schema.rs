//! Diesel table definitions, shared by the SQLite and PostgreSQL migrations.

diesel::table! {
    users (id) {
        id -> Text,
        email -> Nullable<Text>,
        email_verified -> Bool,
        name -> Nullable<Text>,
        password_hash -> Nullable<Text>,
        created_at -> BigInt,
        updated_at -> BigInt,
        phone -> Nullable<Text>,
        disabled_at -> Nullable<BigInt>,
        locale -> Nullable<Text>,
        zoneinfo -> Nullable<Text>,
        deletion_requested_at -> Nullable<BigInt>,
        sign_in_generation -> BigInt,
    }
}

diesel::table! {
    clients (id) {
        id -> Text,
        name -> Text,
        secret_hash -> Nullable<Text>,
        redirect_uris -> Text,
        post_logout_redirect_uris -> Text,
        grant_types -> Text,
        scopes -> Text,
        skip_consent -> Bool,
        created_at -> BigInt,
        audiences -> Text,
        web_origins -> Text,
        access_token_ttl -> Nullable<BigInt>,
        id_token_ttl -> Nullable<BigInt>,
        refresh_token_ttl -> Nullable<BigInt>,
        refresh_id_token -> Bool,
        previous_secret_hash -> Nullable<Text>,
        previous_secret_expires_at -> Nullable<BigInt>,
        disabled_at -> Nullable<BigInt>,
        access_token_format -> Text,
    }
}

diesel::table! {
    signing_keys (kid) {
        kid -> Text,
        state -> Text,
        private_key_enc -> Text,
        public_jwk -> Text,
        created_at -> BigInt,
        activates_at -> BigInt,
        retires_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    browser_sessions (id_hash) {
        id_hash -> Text,
        user_id -> Text,
        auth_time -> BigInt,
        amr -> Text,
        created_at -> BigInt,
        last_seen_at -> BigInt,
        expires_at -> BigInt,
        user_agent -> Text,
        ip -> Text,
    }
}

diesel::table! {
    remembered_browsers (id_hash) {
        id_hash -> Text,
        user_id -> Text,
        created_at -> BigInt,
        expires_at -> BigInt,
        user_agent -> Text,
    }
}

diesel::table! {
    consents (user_id, client_id) {
        user_id -> Text,
        client_id -> Text,
        scopes -> Text,
        created_at -> BigInt,
    }
}

diesel::table! {
    authorization_requests (id) {
        id -> Text,
        client_id -> Text,
        params -> Text,
        created_at -> BigInt,
        expires_at -> BigInt,
    }
}

diesel::table! {
    token_families (id) {
        id -> Text,
        client_id -> Text,
        user_id -> Nullable<Text>,
        created_at -> BigInt,
        revoked_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    auth_codes (code_hash) {
        code_hash -> Text,
        family_id -> Text,
        client_id -> Text,
        user_id -> Text,
        redirect_uri -> Text,
        scope -> Text,
        nonce -> Nullable<Text>,
        pkce -> Nullable<Text>,
        auth_time -> BigInt,
        amr -> Text,
        expires_at -> BigInt,
        used_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    refresh_tokens (token_hash) {
        token_hash -> Text,
        family_id -> Text,
        client_id -> Text,
        user_id -> Text,
        scope -> Text,
        auth_time -> BigInt,
        amr -> Text,
        created_at -> BigInt,
        expires_at -> BigInt,
        rotated_at -> Nullable<BigInt>,
        successor_enc -> Nullable<Text>,
    }
}

diesel::table! {
    revoked_tokens (jti) {
        jti -> Text,
        expires_at -> BigInt,
    }
}

diesel::table! {
    attempt_counters (key) {
        key -> Text,
        failures -> BigInt,
        window_start -> BigInt,
        locked_until -> BigInt,
        in_flight -> BigInt,
        in_flight_since -> BigInt,
    }
}

diesel::table! {
    outbox (id) {
        id -> Text,
        channel -> Text,
        recipient -> Text,
        body -> Text,
        created_at -> BigInt,
        attempts -> BigInt,
        next_attempt_at -> BigInt,
        claim -> Nullable<Text>,
        claimed_until -> BigInt,
        sent_at -> Nullable<BigInt>,
        failed_at -> Nullable<BigInt>,
        last_error -> Nullable<Text>,
    }
}

diesel::table! {
    audit_events (id) {
        id -> Text,
        at -> BigInt,
        kind -> Text,
        user_id -> Nullable<Text>,
        client_id -> Nullable<Text>,
        ip -> Text,
        user_agent -> Text,
        detail -> Text,
    }
}

diesel::table! {
    one_time_codes (id) {
        id -> Text,
        purpose -> Text,
        identifier -> Text,
        user_id -> Nullable<Text>,
        code_hash -> Text,
        browser -> Text,
        tries -> BigInt,
        created_at -> BigInt,
        expires_at -> BigInt,
        used_at -> Nullable<BigInt>,
        payload -> Nullable<Text>,
        generation -> Nullable<BigInt>,
    }
}

diesel::table! {
    totp_credentials (user_id) {
        user_id -> Text,
        secret_enc -> Text,
        enabled_at -> Nullable<BigInt>,
        last_step -> BigInt,
        created_at -> BigInt,
    }
}

diesel::table! {
    recovery_codes (id) {
        id -> Text,
        user_id -> Text,
        code_hash -> Text,
        used_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    pending_sign_ins (id) {
        id -> Text,
        user_id -> Text,
        first_factor -> Text,
        browser -> Text,
        tries -> BigInt,
        expires_at -> BigInt,
        generation -> BigInt,
    }
}

diesel::table! {
    account_roles (user_id, role) {
        user_id -> Text,
        role -> Text,
        created_at -> BigInt,
    }
}

diesel::joinable!(account_roles -> users (user_id));

diesel::table! {
    account_attributes (user_id, name) {
        user_id -> Text,
        name -> Text,
        value -> Text,
        updated_at -> BigInt,
    }
}

diesel::table! {
    account_invitations (token_hash) {
        token_hash -> Text,
        user_id -> Text,
        expires_at -> BigInt,
        used_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    roles (name) {
        name -> Text,
        description -> Text,
        system -> Bool,
        created_at -> BigInt,
    }
}

diesel::table! {
    permissions (name) {
        name -> Text,
        description -> Text,
        created_at -> BigInt,
    }
}

diesel::table! {
    role_permissions (role, permission) {
        role -> Text,
        permission -> Text,
    }
}

diesel::allow_tables_to_appear_in_same_query!(
    account_roles,
    account_attributes,
    account_invitations,
    roles,
    permissions,
    role_permissions,
    totp_credentials,
    recovery_codes,
    pending_sign_ins,
    one_time_codes,
    attempt_counters,
    outbox,
    audit_events,
    users,
    clients,
    signing_keys,
    browser_sessions,
    remembered_browsers,
    consents,
    authorization_requests,
    token_families,
    auth_codes,
    refresh_tokens,
    revoked_tokens,
);

// -- bookings tables (module `bookings`) --
diesel::table! {
    booking_consultants (id) {
        id -> Text,
        subject -> Text,
        name -> Text,
        bio -> Text,
        price -> BigInt,
        currency -> Text,
        photo -> Nullable<Text>,
        time_zone -> Text,
        status -> Text,
        rejection_reason -> Nullable<Text>,
        created_at -> BigInt,
        updated_at -> BigInt,
        reviewed_at -> Nullable<BigInt>,
        reviewed_by -> Nullable<Text>,
    }
}

diesel::table! {
    booking_documents (id) {
        id -> Text,
        consultant_id -> Text,
        kind -> Text,
        name -> Text,
        media_type -> Text,
        bytes -> BigInt,
        sha256 -> Text,
        uploaded_at -> BigInt,
    }
}

diesel::table! {
    booking_notifications (id) {
        id -> Text,
        appointment_id -> Text,
        event -> Text,
        party -> Text,
        due_at -> BigInt,
        attempts -> BigInt,
        claim -> Nullable<Text>,
        claimed_until -> BigInt,
        done_at -> Nullable<BigInt>,
        outcome -> Nullable<Text>,
        last_error -> Nullable<Text>,
        created_at -> BigInt,
    }
}

diesel::table! {
    booking_consultant_tags (consultant_id, kind, tag) {
        consultant_id -> Text,
        kind -> Text,
        tag -> Text,
        label -> Text,
        position -> BigInt,
    }
}

diesel::table! {
    booking_services (id) {
        id -> Text,
        consultant_id -> Text,
        name -> Text,
        duration_minutes -> BigInt,
        price -> BigInt,
        currency -> Text,
        active -> Bool,
        created_at -> BigInt,
        category_id -> Nullable<Text>,
    }
}

diesel::table! {
    booking_categories (id) {
        id -> Text,
        name -> Text,
        name_key -> Text,
        description -> Text,
        position -> BigInt,
        created_at -> BigInt,
        updated_at -> BigInt,
    }
}

diesel::table! {
    booking_availability (consultant_id, weekday, start_minute) {
        consultant_id -> Text,
        weekday -> BigInt,
        start_minute -> BigInt,
        end_minute -> BigInt,
    }
}

diesel::table! {
    booking_exceptions (id) {
        id -> Text,
        consultant_id -> Text,
        day -> Text,
        start_minute -> Nullable<BigInt>,
        end_minute -> Nullable<BigInt>,
        available -> Bool,
        created_at -> BigInt,
    }
}

diesel::table! {
    booking_appointments (id) {
        id -> Text,
        consultant_id -> Text,
        consultant_subject -> Text,
        client_subject -> Text,
        service_id -> Text,
        service_name -> Text,
        duration_minutes -> BigInt,
        price -> BigInt,
        currency -> Text,
        time_zone -> Text,
        starts_at -> BigInt,
        ends_at -> BigInt,
        status -> Text,
        reason -> Nullable<Text>,
        cancelled_by -> Nullable<Text>,
        created_at -> BigInt,
        updated_at -> BigInt,
    }
}

diesel::table! {
    booking_appointment_slots (consultant_id, slot_start) {
        consultant_id -> Text,
        slot_start -> BigInt,
        appointment_id -> Text,
    }
}

diesel::allow_tables_to_appear_in_same_query!(
    booking_consultants,
    booking_consultant_tags,
    booking_services,
    booking_categories,
    booking_documents,
    booking_notifications,
    booking_availability,
    booking_exceptions,
    booking_appointments,
    booking_appointment_slots,
);

// -- content tables (module `content`) --
diesel::table! {
    content_retreats (id) {
        id -> Text,
        title -> Text,
        description -> Text,
        search_text -> Text,
        language -> Text,
        created_at -> BigInt,
        updated_at -> BigInt,
    }
}

diesel::table! {
    content_sessions (id) {
        id -> Text,
        retreat_id -> Text,
        title -> Text,
        description -> Text,
        search_text -> Text,
        position -> BigInt,
        created_at -> BigInt,
        updated_at -> BigInt,
    }
}

diesel::table! {
    content_tracks (id) {
        id -> Text,
        session_id -> Text,
        title -> Text,
        description -> Text,
        search_text -> Text,
        language -> Text,
        duration_seconds -> BigInt,
        position -> BigInt,
        tier -> Text,
        audio_file -> Text,
        transcript_file -> Nullable<Text>,
        created_at -> BigInt,
        updated_at -> BigInt,
    }
}

diesel::table! {
    content_progress (subject, track_id) {
        subject -> Text,
        track_id -> Text,
        position_seconds -> BigInt,
        completed -> Bool,
        updated_at -> BigInt,
    }
}

diesel::table! {
    content_bookmarks (id) {
        id -> Text,
        subject -> Text,
        track_id -> Text,
        position_seconds -> BigInt,
        note -> Text,
        created_at -> BigInt,
        updated_at -> BigInt,
    }
}

// The columns both backends share; the words themselves are in a backend's own full-text
// structure (SQLite: the FTS5 table `content_transcripts_fts`; PostgreSQL: `body` and the
// generated `document` tsvector), written and searched with SQL of its own.
diesel::table! {
    content_transcripts (track_id) {
        track_id -> Text,
        file -> Text,
        status -> Text,
        detail -> Text,
        pages -> BigInt,
        characters -> BigInt,
        extracted_at -> BigInt,
    }
}

diesel::table! {
    content_preferences (subject) {
        subject -> Text,
        app_language -> Text,
        content_language -> Text,
        notifications -> Bool,
        time_zone -> Text,
        updated_at -> BigInt,
    }
}

diesel::table! {
    content_listening_days (subject, day) {
        subject -> Text,
        day -> BigInt,
    }
}

diesel::table! {
    content_files (path) {
        path -> Text,
        sha256 -> Text,
        bytes -> BigInt,
        media_type -> Text,
        duration_seconds -> Nullable<BigInt>,
        uploaded_at -> BigInt,
    }
}

diesel::table! {
    content_removals (path) {
        path -> Text,
        remove_after -> BigInt,
    }
}

diesel::table! {
    content_downloads (subject, day) {
        subject -> Text,
        day -> BigInt,
        count -> BigInt,
    }
}

diesel::joinable!(content_sessions -> content_retreats (retreat_id));
diesel::joinable!(content_tracks -> content_sessions (session_id));
diesel::joinable!(content_progress -> content_tracks (track_id));
diesel::joinable!(content_bookmarks -> content_tracks (track_id));
diesel::joinable!(content_transcripts -> content_tracks (track_id));

diesel::allow_tables_to_appear_in_same_query!(
    content_retreats,
    content_sessions,
    content_tracks,
    content_progress,
    content_bookmarks,
    content_transcripts,
    content_preferences,
    content_listening_days,
    content_downloads,
    content_files,
    content_removals,
);
