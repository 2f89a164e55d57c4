#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif
import NIOCore

/// GEOADD, GEODIST, GEOHASH, GEOPOS and the searches (GEOSEARCH, GEOSEARCHSTORE, GEORADIUS…), as
/// Redis 7.0's geo.c: a geo set is a sorted set whose scores are 52-bit geohashes (Geohash.swift
/// does the math), with Redis's replies, error texts and error order.
enum GeoCommands {
    static var all: [(String, CommandHandler)] {[
        ("geoadd", .init(geoadd)), ("geodist", .init(geodist)), ("geohash", .init(geohash)), ("geopos", .init(geopos)),
        ("geosearch", .init(geosearch)), ("geosearchstore", .init(geosearchstore)),
        ("georadius", .init(georadius)), ("georadius_ro", .init(georadiusReadOnly)),
        ("georadiusbymember", .init(georadiusByMember)), ("georadiusbymember_ro", .init(georadiusByMemberReadOnly)),
    ]}

    // MARK: - Arguments

    /// Longitude at `index`, latitude after it, within Redis's limits (`extractLongLatOrReply`).
    static func position(_ call: CommandCall, _ index: Int) throws(CommandError) -> (longitude: Double, latitude: Double) {
        let longitude = try call.double(index)
        let latitude = try call.double(index + 1)
        guard longitude >= -Geohash.longitudeLimit, longitude <= Geohash.longitudeLimit,
            latitude >= -Geohash.latitudeLimit, latitude <= Geohash.latitudeLimit
        else {
            throw CommandError("ERR invalid longitude,latitude pair \(fixed(longitude)),\(fixed(latitude))")
        }
        return (longitude, latitude)
    }

    /// C's `%f`.
    static func fixed(_ value: Double) -> String {
        withUnsafeTemporaryAllocation(of: CChar.self, capacity: 512) { buffer in
            let length = Int(withVaList([value]) { vsnprintf(buffer.baseAddress, 512, "%f", $0) })
            return String(decoding: UnsafeRawBufferPointer(start: buffer.baseAddress, count: max(0, min(length, 511))), as: UTF8.self)
        }
    }

    /// Meters per unit (`extractUnitOrReply`).
    static func unit(_ call: CommandCall, _ index: Int) throws(CommandError) -> Double {
        if call.matches(index, "m") { return 1 }
        if call.matches(index, "km") { return 1000 }
        if call.matches(index, "ft") { return 0.3048 }
        if call.matches(index, "mi") { return 1609.34 }
        throw CommandError("ERR unsupported unit provided. please use M, KM, FT, MI")
    }

    /// `radius unit` at `index` (`extractDistanceOrReply`): (radius, meters per unit).
    static func radiusArguments(_ call: CommandCall, _ index: Int) throws(CommandError) -> (radius: Double, toMeters: Double) {
        let radius = try call.double(index, error: CommandError("ERR need numeric radius"))
        if radius < 0 { throw CommandError("ERR radius cannot be negative") }
        return (radius, try unit(call, index + 1))
    }

    /// `width height unit` at `index` (`extractBoxOrReply`).
    static func boxArguments(_ call: CommandCall, _ index: Int) throws(CommandError) -> (width: Double, height: Double, toMeters: Double) {
        let width = try call.double(index, error: CommandError("ERR need numeric width"))
        let height = try call.double(index + 1, error: CommandError("ERR need numeric height"))
        if height < 0 || width < 0 { throw CommandError("ERR height or width cannot be negative") }
        return (width, height, try unit(call, index + 2))
    }

    /// The position of member argument `index` in `set`; Redis's error when it is not there.
    static func memberPosition(_ call: CommandCall, _ set: SortedSetObject, _ index: Int) throws(CommandError) -> (longitude: Double, latitude: Double) {
        guard let score = call.argument(index, { set.score($0) }), let position = Geohash.position(score: score) else {
            throw CommandError("ERR could not decode requested zset member")
        }
        return position
    }

    // MARK: - Replies

    /// `addReplyHumanLongDouble`: `%.17Lf` without trailing zeros; a bulk string in RESP2, a
    /// double in RESP3.
    static func replyCoordinate(_ client: ClientConnection, _ value: Double) {
        let text = DoubleFormat.incrByFloat(Float80(value))
        if client.protocolVersion == 3 {
            client.reply.writeInteger(UInt8(ascii: ","))
            client.reply.writeString(text)
            client.reply.writeString("\r\n")
        } else {
            client.bulk(text)
        }
    }

    // MARK: - GEOADD

    /// `geoaddCommand`: the positions become scores, then ZADD's work with NX/XX/CH; propagated
    /// as that ZADD (scores as integers), as Redis does.
    static func geoadd(_ call: inout CommandCall) throws(CommandError) {
        var nx = false, xx = false, ch = false
        var first = 2
        while first < call.count {
            if call.matches(first, "nx") { nx = true }
            else if call.matches(first, "xx") { xx = true }
            else if call.matches(first, "ch") { ch = true }
            else { break }
            first += 1
        }
        if (call.count - first) % 3 != 0 || (xx && nx) { throw .syntax }
        let elements = (call.count - first) / 3
        var scores: [UInt64] = []
        scores.reserveCapacity(elements)
        for element in 0..<elements {
            let (longitude, latitude) = try position(call, first + element * 3)
            // In range (just checked), so it encodes.
            scores.append(Geohash.score(longitude: longitude, latitude: latitude) ?? 0)
        }
        if elements == 0 { throw .syntax }

        let settings = call.node.settings
        var set = try SortedSetCommands.write(call)
        if set == nil && !xx {
            let created = SortedSetObject(firstMemberLength: Int(call.spans[first + 2].length), settings: settings)
            call.database.add(call.bytes(1), .sortedSet(created))
            set = created
        }
        var added = 0, updated = 0
        if let set {
            for element in 0..<elements {
                let score = Double(scores[element])
                call.argument(first + element * 3 + 2) { member in
                    guard let current = set.score(member) else {
                        if !xx {
                            set.insert(member, score: score, settings: settings)
                            added += 1
                        }
                        return
                    }
                    if nx || current == score { return }
                    set.update(member, from: current, to: score)
                    updated += 1
                }
            }
        }
        call.effect.dirty += added + updated
        if added + updated > 0 {
            call.notify(.zset, "zadd", 1)
            call.propagate { call in
                var zadd: [[UInt8]] = [Array("zadd".utf8)]
                for index in 1..<first { zadd.append(call.bytes(index)) }
                for element in 0..<elements {
                    zadd.append(Array(String(scores[element]).utf8))
                    zadd.append(call.bytes(first + element * 3 + 2))
                }
                return [zadd]
            }
        }
        call.client.integer(ch ? added + updated : added)
    }

    // MARK: - GEOPOS, GEOHASH, GEODIST

    static func geopos(_ call: inout CommandCall) throws(CommandError) {
        let set = try SortedSetCommands.read(call)
        call.client.arrayHeader(call.count - 2)
        for index in 2..<call.count {
            guard let set, let score = call.argument(index, { set.score($0) }), let position = Geohash.position(score: score) else {
                call.client.nullArray()
                continue
            }
            call.client.arrayHeader(2)
            replyCoordinate(call.client, position.longitude)
            replyCoordinate(call.client, position.latitude)
        }
    }

    static func geohash(_ call: inout CommandCall) throws(CommandError) {
        let set = try SortedSetCommands.read(call)
        call.client.arrayHeader(call.count - 2)
        for index in 2..<call.count {
            guard let set, let score = call.argument(index, { set.score($0) }), let position = Geohash.position(score: score) else {
                call.client.null()
                continue
            }
            call.client.bulk(Geohash.standardString(longitude: position.longitude, latitude: position.latitude))
        }
    }

    static func geodist(_ call: inout CommandCall) throws(CommandError) {
        var toMeters = 1.0
        if call.count == 5 {
            toMeters = try unit(call, 4)
        } else if call.count > 5 {
            throw .syntax
        }
        guard let set = try SortedSetCommands.read(call) else { return call.client.null() }
        guard let score1 = call.argument(2, { set.score($0) }), let score2 = call.argument(3, { set.score($0) }),
            let position1 = Geohash.position(score: score1), let position2 = Geohash.position(score: score2)
        else { return call.client.null() }
        let meters = Geohash.distance(position1.longitude, position1.latitude, position2.longitude, position2.latitude)
        call.client.bulk(Geohash.formatDistance(meters / toMeters))
    }

    // MARK: - Searches

    /// Which command a search runs as (`georadiusGeneric`'s flags).
    enum SearchKind {
        case radiusAroundPosition, radiusAroundMember, search, searchStore
    }

    static func georadius(_ call: inout CommandCall) throws(CommandError) { try search(&call, .radiusAroundPosition, readOnly: false) }
    static func georadiusReadOnly(_ call: inout CommandCall) throws(CommandError) { try search(&call, .radiusAroundPosition, readOnly: true) }
    static func georadiusByMember(_ call: inout CommandCall) throws(CommandError) { try search(&call, .radiusAroundMember, readOnly: false) }
    static func georadiusByMemberReadOnly(_ call: inout CommandCall) throws(CommandError) { try search(&call, .radiusAroundMember, readOnly: true) }
    static func geosearch(_ call: inout CommandCall) throws(CommandError) { try search(&call, .search, readOnly: false) }
    static func geosearchstore(_ call: inout CommandCall) throws(CommandError) { try search(&call, .searchStore, readOnly: false) }

    /// A match: its decoded position, distance in meters from the centre, score and member.
    struct Match {
        var longitude: Double
        var latitude: Double
        var distance: Double
        var score: Double
        var member: [UInt8]
    }

    enum Order { case none, ascending, descending }

    /// `georadiusGeneric`: arguments in Redis's order (with its errors as it meets them), the
    /// members of the search cells inside the shape, sorted, then replied or stored.
    private static func search(_ call: inout CommandCall, _ kind: SearchKind, readOnly: Bool) throws(CommandError) {
        let isSearch = kind == .search || kind == .searchStore
        let sourceIndex = kind == .searchStore ? 2 : 1
        let set = try SortedSetCommands.read(call, sourceIndex)

        var centre: (longitude: Double, latitude: Double) = (0, 0)
        var shapeKind = Geohash.Shape.Kind.radius(0)
        var toMeters = 1.0
        var storeIndex: Int?
        var storeDistances = false
        let baseArguments: Int
        switch kind {
        case .radiusAroundPosition:
            baseArguments = 6
            centre = try position(call, 2)
            let circle = try radiusArguments(call, 4)
            (shapeKind, toMeters) = (.radius(circle.radius), circle.toMeters)
        case .radiusAroundMember:
            baseArguments = 5
            // Without the key, arguments are still checked for the reply's kind; not the radius.
            if let set {
                centre = try memberPosition(call, set, 2)
                let circle = try radiusArguments(call, 3)
                (shapeKind, toMeters) = (.radius(circle.radius), circle.toMeters)
            }
        case .search:
            baseArguments = 2
        case .searchStore:
            baseArguments = 3
            storeIndex = 1
        }

        var withDistance = false, withHash = false, withCoordinates = false
        var fromMember = false, fromPosition = false, byRadius = false, byBox = false
        var order = Order.none
        var any = false
        var count = 0
        var index = baseArguments
        while index < call.count {
            let following = call.count - index - 1
            if call.matches(index, "withdist") {
                withDistance = true
            } else if call.matches(index, "withhash") {
                withHash = true
            } else if call.matches(index, "withcoord") {
                withCoordinates = true
            } else if call.matches(index, "any") {
                any = true
            } else if call.matches(index, "asc") {
                order = .ascending
            } else if call.matches(index, "desc") {
                order = .descending
            } else if call.matches(index, "count") && following >= 1 {
                count = try call.integer(index + 1)
                if count <= 0 { throw CommandError("ERR COUNT must be > 0") }
                index += 1
            } else if call.matches(index, "store") && following >= 1 && !readOnly && !isSearch {
                storeIndex = index + 1
                storeDistances = false
                index += 1
            } else if call.matches(index, "storedist") && following >= 1 && !readOnly && !isSearch {
                storeIndex = index + 1
                storeDistances = true
                index += 1
            } else if call.matches(index, "storedist") && kind == .searchStore {
                storeDistances = true
            } else if call.matches(index, "frommember") && following >= 1 && isSearch && !fromPosition {
                if let set { centre = try memberPosition(call, set, index + 1) }
                fromMember = true
                index += 1
            } else if call.matches(index, "fromlonlat") && following >= 2 && isSearch && !fromMember {
                centre = try position(call, index + 1)
                fromPosition = true
                index += 2
            } else if call.matches(index, "byradius") && following >= 2 && isSearch && !byBox {
                let circle = try radiusArguments(call, index + 1)
                (shapeKind, toMeters) = (.radius(circle.radius), circle.toMeters)
                byRadius = true
                index += 2
            } else if call.matches(index, "bybox") && following >= 3 && isSearch && !byRadius {
                let box = try boxArguments(call, index + 1)
                (shapeKind, toMeters) = (.box(width: box.width, height: box.height), box.toMeters)
                byBox = true
                index += 3
            } else {
                throw .syntax
            }
            index += 1
        }

        if storeIndex != nil && (withDistance || withHash || withCoordinates) {
            let what = kind == .searchStore ? "GEOSEARCHSTORE" : "STORE option in GEORADIUS"
            throw CommandError("ERR \(what) is not compatible with WITHDIST, WITHHASH and WITHCOORD options")
        }
        if isSearch && !(fromMember || fromPosition) {
            throw CommandError("ERR exactly one of FROMMEMBER or FROMLONLAT can be specified for \(call.string(0))")
        }
        if isSearch && !(byRadius || byBox) {
            throw CommandError("ERR exactly one of BYRADIUS and BYBOX can be specified for \(call.string(0))")
        }
        if any && count == 0 { throw CommandError("ERR the ANY argument requires COUNT argument") }

        guard let set else {
            if let storeIndex {
                if call.delete(storeIndex) { call.notify(.generic, "del", storeIndex) }
                call.client.integer(0)
            } else {
                call.client.arrayHeader(0)
            }
            return
        }
        // COUNT without an order means the nearest ones (unless ANY).
        if count != 0 && order == .none && !any { order = .ascending }

        let shape = Geohash.Shape(longitude: centre.longitude, latitude: centre.latitude, kind: shapeKind, toMeters: toMeters)
        var matches = members(of: set, inside: shape, limit: any ? count : 0)
        let returned = count == 0 ? matches.count : min(count, matches.count)
        if order != .none {
            // Redis sorts everything with libc's qsort, or only the first `returned` with its
            // pqsort; both reproduced so equal distances come out in Redis's order.
            if returned == matches.count {
                sortByDistance(&matches, descending: order == .descending)
            } else {
                partialSortByDistance(&matches, descending: order == .descending, through: returned - 1)
            }
        }

        guard let storeIndex else {
            let options = (withDistance ? 1 : 0) + (withHash ? 1 : 0) + (withCoordinates ? 1 : 0)
            let client = call.client
            client.arrayHeader(returned)
            for match in matches.prefix(returned) {
                if options > 0 { client.arrayHeader(options + 1) }
                client.bulk(match.member)
                if withDistance { client.bulk(Geohash.formatDistance(match.distance / toMeters)) }
                if withHash { client.integer(Int(match.score)) }
                if withCoordinates {
                    client.arrayHeader(2)
                    replyCoordinate(client, match.longitude)
                    replyCoordinate(client, match.latitude)
                }
            }
            return
        }
        if returned == 0 {
            if call.delete(storeIndex) { call.notify(.generic, "del", storeIndex) }
        } else {
            let entries = matches.prefix(returned).map { match in
                (match.member, storeDistances ? match.distance / toMeters : match.score)
            }
            call.store(storeIndex, .sortedSet(SortedSetObject(entries: entries, settings: call.node.settings)))
            // Redis counts one change per stored member.
            call.effect.dirty += returned - 1
            if kind == .searchStore {
                call.notify(.zset, "geosearchstore", storeIndex)
            } else {
                call.notify(.zset, "georadiusstore", storeIndex)
            }
        }
        call.client.integer(returned)
    }

    /// The members of the search cells that are inside the shape, cell by cell in Redis's order,
    /// each cell in score order; at most `limit` of them when `limit` is positive.
    static func members(of set: SortedSetObject, inside shape: Geohash.Shape, limit: Int) -> [Match] {
        var matches: [Match] = []
        for range in Geohash.scoreRanges(shape) {
            if limit > 0 && matches.count >= limit { break }
            let start = set.lowerBound { score, _ in score < range.min }
            let end = set.lowerBound { score, _ in score < range.max }
            guard start < end else { continue }
            set.forEach(ranks: start..<end, reverse: false) { member, score in
                if limit > 0 && matches.count >= limit { return }
                guard let position = Geohash.position(score: score),
                    let distance = shape.distanceIfInside(longitude: position.longitude, latitude: position.latitude)
                else { return }
                matches.append(Match(longitude: position.longitude, latitude: position.latitude, distance: distance, score: score, member: Array(member)))
            }
        }
        return matches
    }

    /// Redis's comparator of matches (`sort_gp_asc`, negated for DESC).
    @inline(__always)
    static func compare(_ a: Double, _ b: Double, descending: Bool) -> Int {
        let ascending = a > b ? 1 : (a == b ? 0 : -1)
        return descending ? -ascending : ascending
    }

    /// Redis's `pqsort` over the ranks 0...`last` (`RedisSorting.partialSort`), so that matches at
    /// equal distances end up where Redis puts them.
    static func partialSortByDistance(_ matches: inout [Match], descending: Bool, through last: Int) {
        let distances = matches.map(\.distance)
        let order = RedisSorting.partialSort(count: matches.count, low: 0, high: last) {
            compare(distances[$0], distances[$1], descending: descending)
        }
        matches = order.map { matches[$0] }
    }

    /// Redis's full sort (glibc's stable merge sort, `RedisSorting.mergeSort`).
    static func sortByDistance(_ matches: inout [Match], descending: Bool) {
        guard matches.count > 1 else { return }
        let distances = matches.map(\.distance)
        let order = RedisSorting.mergeSort(count: matches.count) { compare(distances[$0], distances[$1], descending: descending) }
        matches = order.map { matches[$0] }
    }
}
