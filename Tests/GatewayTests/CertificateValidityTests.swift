import Foundation
import Testing
@testable import Gateway

/// A replica refuses to serve a certificate outside its validity period, at start and on SIGHUP.
struct CertificateValidityTests {
    /// A self-signed certificate valid from 2026-12-02T02:46:42Z to 2027-01-01T02:46:42Z.
    static let chain = """
        -----BEGIN CERTIFICATE-----
        MIIBizCCATGgAwIBAgIURr/xN2aCJ1OXKYedMq70Oq3/uzIwCgYIKoZIzj0EAwIw
        GzEZMBcGA1UEAwwQdmFsaWRpdHkgZml4dHVyZTAeFw0yNjEyMDIwMjQ2NDJaFw0y
        NzAxMDEwMjQ2NDJaMBsxGTAXBgNVBAMMEHZhbGlkaXR5IGZpeHR1cmUwWTATBgcq
        hkjOPQIBBggqhkjOPQMBBwNCAAQofMKQP69nm9cTz29SnSe5uYtwmp1CMs84o/hl
        sw7C5cNQIeCaIqMkSjUkyff46sYaKiMsjeRXConLhczmJj6vo1MwUTAdBgNVHQ4E
        FgQU8EeVn6jbk9mIklaZzbdKLCpwfmMwHwYDVR0jBBgwFoAU8EeVn6jbk9mIklaZ
        zbdKLCpwfmMwDwYDVR0TAQH/BAUwAwEB/zAKBggqhkjOPQQDAgNIADBFAiEA9E//
        5fBB1TMM2O2k29IXVS2Th+CmI63c6NHa1fnvnLoCIHyAT/XLeawPobnrqY/AzbsX
        u6IhgS/Zn/12C027DYJy
        -----END CERTIFICATE-----

        """
    static let notBefore = Date(timeIntervalSince1970: 1_796_179_602)  // 2026-12-02T02:46:42Z
    static let notAfter = Date(timeIntervalSince1970: 1_798_771_602)  // 2027-01-01T02:46:42Z
    let tls = ServingTLS(certificateFile: "/etc/chat/cert.pem", keyFile: "/etc/chat/key.pem")

    @Test func aCertificateWithinItsPeriodIsAccepted() throws {
        try tls.checkValidity(of: Self.chain, at: Self.notBefore.addingTimeInterval(86_400))
    }

    @Test func anExpiredCertificateIsRefusedWithItsEndDate() {
        #expect {
            try tls.checkValidity(of: Self.chain, at: Self.notAfter.addingTimeInterval(1))
        } throws: { error in
            "\(error)" == "the certificate in /etc/chat/cert.pem expired on 2027-01-01T02:46:42Z"
        }
    }

    @Test func aCertificateIssuedMinutesAheadOfThisClockIsAccepted() throws {
        try tls.checkValidity(of: Self.chain, at: Self.notBefore.addingTimeInterval(-ServingTLS.clockSkewAllowed + 1))
    }

    @Test func aCertificateNotYetValidIsRefusedWithItsStartDate() {
        #expect {
            try tls.checkValidity(of: Self.chain, at: Self.notBefore.addingTimeInterval(-ServingTLS.clockSkewAllowed - 1))
        } throws: { error in
            "\(error)" == "the certificate in /etc/chat/cert.pem is not valid before 2026-12-02T02:46:42Z"
        }
    }
}
