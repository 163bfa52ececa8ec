using System.Net.Http.Headers;
using TLoRA.Rpc.Protocol;

namespace TLoRA.Rpc.Client;

/// <summary>Status and custom metadata from response headers and trailers.</summary>
internal static class ResponseMetadata
{
    public static (Status, Metadata) ReadTrailers(HttpResponseMessage response)
    {
        var status = GetHeader(response.TrailingHeaders, GrpcProtocol.StatusHeader);
        var metadata = ToMetadata(response.TrailingHeaders);
        if (status is null) return (new Status(StatusCode.Internal, "No grpc-status found in the response trailers."), metadata);
        return (ParseStatus(status, GetHeader(response.TrailingHeaders, GrpcProtocol.MessageHeader)), metadata);
    }

    public static Status ParseStatus(string status, string? message)
    {
        var code = int.TryParse(status, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var c)
            ? (StatusCode)c : StatusCode.Unknown;
        return new Status(code, PercentEncoding.Decode(message));
    }

    public static string? GetHeader(HttpHeaders headers, string name) =>
        headers.NonValidated.TryGetValues(name, out var values) ? values.ToString() : null;

    public static Metadata ToMetadata(HttpHeaders headers)
    {
        var metadata = new Metadata();
        foreach (var (name, values) in headers.NonValidated)
        {
            foreach (var value in values) MetadataCodec.AddHeader(metadata, name, value);
        }
        return metadata;
    }
}
