-- Wireshark / tshark dissector for the Dateline wire protocol, version 1 (protocol/SPEC.md).
--
-- It decodes the 8-byte connection preface, every frame header field (length, flags bit by bit, message type
-- by name, correlation id, uncompressed length, timeout, server time), inflates compressed payloads and hands
-- each payload to Wireshark's protobuf dissector as the message its type names (dateline.v1.<Message>).
-- Frames spanning TCP segments are reassembled (dissect_tcp_pdus). TCP ports 7400 (dateline-ingest) and 7401
-- (dateline-query) are registered (Preferences > Protocols > Dateline changes them); on any other port a
-- connection is recognised by its preface (a heuristic on TCP).
--
-- Use (the search path must be absolute):
--   tshark -X lua_script:protocol/dateline.lua -o "uat:protobuf_search_paths:\"$PWD/protocol\",\"TRUE\"" -r capture.pcap -V
-- or copy this file into Wireshark's personal Lua plugins folder (Help > About Wireshark > Folders), and add
-- the repository's protocol/ folder under Preferences > Protocols > ProtoBuf > Protobuf search paths (tick
-- "Load all files") so that payloads show their fields by name. Without it the payloads still show as protobuf
-- fields by number. Filters: dateline, dateline.type == 0x0200, dateline.correlation_id == 7,
-- dateline.flags.compressed, dateline.message == "SearchRequest".
-- Tested by Tests/DatelineWireTests/DissectorTests.swift (runs where tshark is installed).

local dateline = Proto("dateline", "Dateline Protocol")

local MAGIC = { 0x89, 0x44, 0x54, 0x4C, 0x0D, 0x0A }
local PREFACE_LENGTH = 8
local FIXED_HEADER_LENGTH = 11
local DEFAULT_PORTS = "7400,7401"

-- The message types of SPEC.md section 6, by number, as named in dateline.proto.
local message_types = {
    [0x0001] = "Hello", [0x0002] = "Welcome", [0x0003] = "Ping", [0x0004] = "Pong", [0x0005] = "Cancel",
    [0x0006] = "GoAway", [0x0007] = "Error", [0x0008] = "HealthRequest", [0x0009] = "HealthResponse",
    [0x0100] = "IngestRequest", [0x0101] = "IngestResponse", [0x0102] = "SubscribeRequest", [0x0103] = "LogBatch",
    [0x0104] = "IngestStatsRequest", [0x0105] = "IngestStatsResponse",
    [0x0200] = "SearchRequest", [0x0201] = "SearchResponse", [0x0202] = "GetArticleRequest",
    [0x0203] = "GetArticleResponse", [0x0204] = "QueryStatsRequest", [0x0205] = "QueryStatsResponse",
    [0x0206] = "EntitiesRequest", [0x0207] = "EntitiesResponse", [0x0208] = "TimelineRequest",
    [0x0209] = "TimelineResponse",
    [0x020A] = "IndexBackupRequest",
    [0x020B] = "IndexBackupChunk",
}

-- The flag bits of SPEC.md section 3, in the order their optional header fields follow the fixed header.
local COMPRESSED, END_STREAM, ERROR, DEADLINE, SERVER_TIME = 0x01, 0x02, 0x04, 0x08, 0x10
local flag_names = {
    { COMPRESSED, "COMPRESSED" }, { END_STREAM, "END_STREAM" }, { ERROR, "ERROR" }, { DEADLINE, "DEADLINE" },
    { SERVER_TIME, "SERVER_TIME" },
}

local fields = {
    preface = ProtoField.none("dateline.preface", "Connection preface"),
    magic = ProtoField.bytes("dateline.preface.magic", "Magic", base.SPACE),
    version = ProtoField.uint16("dateline.preface.version", "Protocol version"),
    length = ProtoField.uint32("dateline.length", "Length (payload bytes on the wire)"),
    flags = ProtoField.uint8("dateline.flags", "Flags", base.HEX),
    compressed = ProtoField.bool("dateline.flags.compressed", "COMPRESSED", 8, nil, COMPRESSED),
    end_stream = ProtoField.bool("dateline.flags.end_stream", "END_STREAM", 8, nil, END_STREAM),
    error = ProtoField.bool("dateline.flags.error", "ERROR", 8, nil, ERROR),
    deadline = ProtoField.bool("dateline.flags.deadline", "DEADLINE", 8, nil, DEADLINE),
    server_time = ProtoField.bool("dateline.flags.server_time", "SERVER_TIME", 8, nil, SERVER_TIME),
    reserved = ProtoField.uint8("dateline.flags.reserved", "Reserved", base.HEX, nil, 0xE0),
    type = ProtoField.uint16("dateline.type", "Message type", base.HEX, message_types),
    correlation_id = ProtoField.uint32("dateline.correlation_id", "Correlation id"),
    uncompressed_length = ProtoField.uint32("dateline.uncompressed_length", "Uncompressed length"),
    timeout = ProtoField.uint32("dateline.timeout_ms", "Timeout (ms)"),
    server_time_us = ProtoField.uint32("dateline.server_time_us", "Server time (µs)"),
    message = ProtoField.string("dateline.message", "Message"),
    payload = ProtoField.bytes("dateline.payload", "Payload"),
}
dateline.fields = fields

local experts = {
    reserved = ProtoExpert.new("dateline.reserved_flags", "Reserved flag bits are set (BAD_FRAME)", expert.group.MALFORMED, expert.severity.ERROR),
    error_flag = ProtoExpert.new("dateline.error_flag", "The ERROR flag must be set exactly on frames of type Error (BAD_FRAME)", expert.group.MALFORMED, expert.severity.ERROR),
    type_zero = ProtoExpert.new("dateline.type_zero", "Message type 0 is reserved (BAD_FRAME)", expert.group.MALFORMED, expert.severity.ERROR),
    unknown_type = ProtoExpert.new("dateline.unknown_type", "Unknown message type", expert.group.UNDECODED, expert.severity.WARN),
    inflate = ProtoExpert.new("dateline.inflate_failed", "The compressed payload does not inflate (DECOMPRESSION_FAILED), or this Wireshark cannot inflate", expert.group.UNDECODED, expert.severity.WARN),
    error_frame = ProtoExpert.new("dateline.error_frame", "Error frame", expert.group.RESPONSE_CODE, expert.severity.NOTE),
}
dateline.experts = { experts.reserved, experts.error_flag, experts.type_zero, experts.unknown_type, experts.inflate, experts.error_frame }

dateline.prefs.ports = Pref.range("TCP ports", DEFAULT_PORTS, "The TCP ports Dateline services listen on", 65535)

local protobuf = Dissector.get("protobuf")

-- Whether bit `mask` is set in `value` (plain arithmetic: the bit libraries differ between Lua versions).
local function has_flag(value, mask)
    return math.floor(value / mask) % 2 == 1
end

-- Whether the bytes at `offset` are the preface's magic (as far as the buffer goes).
local function starts_with_magic(tvb, offset)
    local available = math.min(tvb:len() - offset, #MAGIC)
    if available <= 0 then return false end
    for i = 1, available do
        if tvb(offset + i - 1, 1):uint() ~= MAGIC[i] then return false end
    end
    return true
end

-- The header length the flags announce: 11 bytes plus 4 per optional field.
local function header_length(flags)
    local length = FIXED_HEADER_LENGTH
    for _, mask in ipairs({ COMPRESSED, DEADLINE, SERVER_TIME }) do
        if has_flag(flags, mask) then length = length + 4 end
    end
    return length
end

-- dissect_tcp_pdus: the length of the PDU (preface or frame) at `offset`, from its first 5 bytes.
local function pdu_length(tvb, pinfo, offset)
    if tvb(offset, 1):uint() == MAGIC[1] then return PREFACE_LENGTH end
    return header_length(tvb(offset + 4, 1):uint()) + tvb(offset, 4):uint()
end

-- Summaries of the PDUs of the packet being dissected, for the Info column.
local summaries = {}

local function dissect_preface(tvb, pinfo, tree)
    local item = tree:add(fields.preface, tvb(0, PREFACE_LENGTH))
    item:add(fields.magic, tvb(0, 6))
    item:add(fields.version, tvb(6, 2))
    local version = tvb(6, 2):uint()
    item:append_text(", version " .. version)
    table.insert(summaries, "Preface v" .. version)
end

-- Inflates a compressed payload with whatever this Wireshark offers (uncompress_zlib from 4.4, uncompress
-- before), as a Tvb of its own (shown as the "Inflated payload" tab); nil when it does not inflate.
local function inflate(range)
    for _, method in ipairs({ "uncompress_zlib", "uncompress" }) do
        local ok, result = pcall(function() return range[method](range, "Inflated payload") end)
        if ok and result ~= nil then
            -- Some versions return a TvbRange over the new buffer: its Tvb is what dissectors take.
            local is_range, tvb = pcall(function() return result:tvb() end)
            return is_range and tvb or result
        end
    end
    return nil
end

local function add_flags(tree, tvb, flags)
    local set = {}
    for _, flag in ipairs(flag_names) do
        if has_flag(flags, flag[1]) then table.insert(set, flag[2]) end
    end
    local item = tree:add(fields.flags, tvb(4, 1))
    item:append_text(#set > 0 and (" (" .. table.concat(set, ", ") .. ")") or " (none)")
    for _, field in ipairs({ fields.compressed, fields.end_stream, fields.error, fields.deadline, fields.server_time, fields.reserved }) do
        item:add(field, tvb(4, 1))
    end
    if flags >= 0x20 then item:add_proto_expert_info(experts.reserved) end
end

-- The payload: inflated if compressed, then handed to the protobuf dissector as its message.
local function dissect_payload(tvb, pinfo, tree, item, offset, length, flags, name)
    if length == 0 then
        item:add(fields.payload, tvb(offset, 0)):append_text(" (empty)")
        return
    end
    local range = tvb(offset, length)
    local payload_item = item:add(fields.payload, range)
    local payload = range:tvb()
    if has_flag(flags, COMPRESSED) then
        payload_item:append_text(" (zlib)")
        payload = inflate(range)
        if payload == nil then
            payload_item:add_proto_expert_info(experts.inflate)
            return
        end
        payload_item:append_text(", " .. payload:len() .. " bytes inflated")
    end
    if name ~= nil and protobuf ~= nil then
        pinfo.private["pb_msg_type"] = "message,dateline.v1." .. name
        pcall(function() protobuf:call(payload, pinfo, item) end)
        pinfo.private["pb_msg_type"] = nil
    end
end

-- One frame: the header field by field, then the payload.
local function dissect_frame(tvb, pinfo, tree)
    local length = tvb(0, 4):uint()
    local flags = tvb(4, 1):uint()
    local type = tvb(5, 2):uint()
    local correlation_id = tvb(7, 4):uint()
    local name = message_types[type]
    local shown = name or string.format("Unknown type 0x%04x", type)
    local item = tree:add(dateline, tvb(), "Dateline " .. shown .. ", correlation id " .. correlation_id)
    item:add(fields.message, tvb(5, 2), shown)
    item:add(fields.length, tvb(0, 4))
    add_flags(item, tvb, flags)
    local type_item = item:add(fields.type, tvb(5, 2))
    if type == 0 then type_item:add_proto_expert_info(experts.type_zero)
    elseif name == nil then type_item:add_proto_expert_info(experts.unknown_type) end
    if has_flag(flags, ERROR) ~= (type == 0x0007) then item:add_proto_expert_info(experts.error_flag) end
    if type == 0x0007 then item:add_proto_expert_info(experts.error_frame) end
    item:add(fields.correlation_id, tvb(7, 4))
    local offset = FIXED_HEADER_LENGTH
    for _, optional in ipairs({ { COMPRESSED, fields.uncompressed_length }, { DEADLINE, fields.timeout }, { SERVER_TIME, fields.server_time_us } }) do
        if has_flag(flags, optional[1]) then
            item:add(optional[2], tvb(offset, 4))
            offset = offset + 4
        end
    end
    dissect_payload(tvb, pinfo, tree, item, offset, length, flags, name)
    table.insert(summaries, shown .. " id=" .. correlation_id)
end

local function dissect_pdu(tvb, pinfo, tree)
    if tvb(0, 1):uint() == MAGIC[1] then
        local item = tree:add(dateline, tvb(), "Dateline connection preface")
        dissect_preface(tvb, pinfo, item)
    else
        dissect_frame(tvb, pinfo, tree)
    end
    return tvb:len()
end

local function dissect(tvb, pinfo, tree)
    summaries = {}
    pinfo.cols.protocol = "Dateline"
    dissect_tcp_pdus(tvb, tree, 5, pdu_length, dissect_pdu, true)
    if #summaries > 0 then pinfo.cols.info = table.concat(summaries, ", ") end
    return tvb:len()
end
dateline.dissector = dissect

-- A connection on any port: its first bytes are the preface. It calls `dissect` itself, not
-- dateline.dissector (a Dissector handle: calling through it would take TCP reassembly away from it).
local function heuristic(tvb, pinfo, tree)
    if tvb:len() < #MAGIC or not starts_with_magic(tvb, 0) then return false end
    pinfo.conversation = dateline
    dissect(tvb, pinfo, tree)
    return true
end
dateline:register_heuristic("tcp", heuristic)

local registered_ports = ""
local function register_ports()
    local table = DissectorTable.get("tcp.port")
    if registered_ports ~= "" then table:remove(registered_ports, dateline) end
    registered_ports = dateline.prefs.ports
    if registered_ports ~= "" then table:add(registered_ports, dateline) end
end

function dateline.prefs_changed()
    if dateline.prefs.ports ~= registered_ports then register_ports() end
end

register_ports()
