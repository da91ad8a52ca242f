import SkeinCore

/// The attribute half of a CSV load's permission check (Harper's
/// `verifyBulkLoadAttributePerms`): the header's columns are the attributes every row
/// writes, so a role with `attribute_permissions` on the table must have the load's rights
/// (insert; update; upsert: both) on each of them. Checked before any row is written; a
/// refusal ends the job in ERROR with Harper's 403 body as its message.
struct CSVHeaderPermission: Sendable {
    let rule: RolePermission.TableRule?
    let database: String
    let table: String
    let needs: [String]
    let hashAttribute: String

    /// Throws Harper's 403 when the role may not write some of `header`'s columns.
    func check(_ header: [String]) throws {
        guard let rule, rule.attributes != nil else { return }
        if let denial = PermissionDenial.checkAttributes(rule, database: database, table: table, needs: needs,
                                                         attributes: header, hashAttribute: hashAttribute) {
            throw denial.error
        }
    }
}
