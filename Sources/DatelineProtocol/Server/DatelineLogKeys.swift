/// The metadata keys Dateline's logs use, in one place so that they stay consistent.
public enum DatelineLogKey {
    public static let peer = "dateline.peer"
    public static let client = "dateline.client"
    public static let correlationID = "dateline.request.id"
    public static let messageType = "dateline.request.type"
    public static let errorCode = "dateline.error.code"
    public static let error = "dateline.error"
    public static let service = "dateline.service"
}
